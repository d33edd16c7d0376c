#include "eval/alignment.h"

#include <stdexcept>

#include "util/text_file.h"

namespace attn {

GoldAlignment parse_pharaoh(const std::string& line) {
  GoldAlignment g;
  for (const auto& tok : split_ws(line)) {
    size_t p = tok.find_first_of("-?");
    bool ok = p != std::string::npos && p > 0 && p + 1 < tok.size();
    int i = 0, j = 0;
    if (ok) {
      try {
        size_t used_i = 0, used_j = 0;
        i = std::stoi(tok.substr(0, p), &used_i);
        j = std::stoi(tok.substr(p + 1), &used_j);
        ok = used_i == p && used_j == tok.size() - p - 1 && i >= 0 && j >= 0;
      } catch (...) {
        ok = false;
      }
    }
    if (!ok) throw std::invalid_argument("bad alignment link \"" + tok + "\" (expected i-j or i?j)");
    g.possible.insert({i, j});
    if (tok[p] == '-') g.sure.insert({i, j});
  }
  return g;
}

std::string to_pharaoh(const AlignPairs& a) {
  std::string s;
  for (auto [i, j] : a) s += (s.empty() ? "" : " ") + std::to_string(i) + "-" + std::to_string(j);
  return s;
}

AlignPairs hard_alignment(const torch::Tensor& w, int src_len, int shift) {
  AlignPairs out;
  if (!w.defined() || w.numel() == 0) return out;
  torch::Tensor arg = w.argmax(1).to(torch::kLong).contiguous();
  const int64_t* p = arg.data_ptr<int64_t>();
  int64_t T = w.size(0);
  for (int64_t t = 0; t < T; ++t) {
    int64_t row = t + shift;
    if (row >= T) break;
    if (p[row] < src_len) out.emplace_back(static_cast<int>(p[row]), static_cast<int>(t));
  }
  return out;
}

void AerCounts::add(const AlignPairs& hyp, const GoldAlignment& gold) {
  a += static_cast<long>(hyp.size());
  s += static_cast<long>(gold.sure.size());
  for (const auto& l : hyp) {
    a_and_s += gold.sure.count(l);
    a_and_p += gold.possible.count(l);
  }
}

double AerCounts::aer() const {
  if (a + s == 0) return 0.0;
  return 1.0 - static_cast<double>(a_and_s + a_and_p) / static_cast<double>(a + s);
}

void AlignAccuracyCounts::add(const AlignPairs& hyp, const GoldAlignment& gold) {
  std::set<int> linked;  // target words with a gold link
  for (auto [i, j] : gold.possible) linked.insert(j);
  words += static_cast<long>(linked.size());
  for (const auto& l : hyp) correct += static_cast<long>(gold.possible.count(l));  // one hard link per word at most
}

nlohmann::json forced_alignment_metrics(const std::vector<torch::Tensor>& attention,
                                        const std::vector<GoldAlignment>& gold, int shift) {
  if (attention.size() != gold.size())
    throw std::invalid_argument("forced_alignment_metrics: " + std::to_string(attention.size()) +
                                " attention matrices for " + std::to_string(gold.size()) + " gold alignments");
  if (shift < 0 || shift > 1) throw std::invalid_argument("align shift must be 0 or 1");
  AerCounts aer[2];
  AlignAccuracyCounts acc[2];
  for (size_t k = 0; k < attention.size(); ++k) {
    const torch::Tensor& w = attention[k];  // [words + 1, source words + 1]
    int words = static_cast<int>(w.size(0)) - 1, src = static_cast<int>(w.size(1)) - 1;
    for (int sh = 0; sh < 2; ++sh) {
      AlignPairs hard = hard_alignment(w.narrow(0, 0, words + sh), src, sh);
      aer[sh].add(hard, gold[k]);
      acc[sh].add(hard, gold[k]);
    }
  }
  return {{"aer", aer[shift].aer()},
          {"aer_by_shift", {{"0", aer[0].aer()}, {"1", aer[1].aer()}}},
          {"alignment_accuracy", acc[shift].accuracy()},
          {"alignment_accuracy_by_shift", {{"0", acc[0].accuracy()}, {"1", acc[1].accuracy()}}},
          {"align_shift", shift},
          {"alignment_from", "forced decoding of the reference"}};
}

}  // namespace attn
