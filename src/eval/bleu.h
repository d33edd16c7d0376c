// Corpus BLEU as sacreBLEU 2.x computes it by default: 13a tokenisation,
// exponential smoothing, closest reference length, corpus-level statistics.
#pragma once
#include <string>
#include <vector>

namespace attn {

std::string tokenize_13a(const std::string& line);

struct BleuResult {
  double score = 0;                  // 0-100
  std::vector<double> precisions;    // 0-100
  std::vector<long> correct, total;  // per n-gram order
  long sys_len = 0, ref_len = 0;
  double bp = 0;
  // "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)"
  std::string format() const;
};

// refs[r][i]: reference stream r, sentence i (sacreBLEU's layout).
BleuResult corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                       int max_order = 4, bool tokenize = true);
// From accumulated statistics (sacreBLEU's compute_bleu with smooth "exp").
BleuResult compute_bleu(const std::vector<long>& correct, const std::vector<long>& total, long sys_len,
                        long ref_len);
std::string bleu_signature(int nrefs);

}  // namespace attn
