// Hard alignments from attention, Pharaoh I/O, and Alignment Error Rate
// (Och & Ney 2003): AER = 1 - (|A n S| + |A n P|) / (|A| + |S|), P includes S.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace attn {

using AlignPairs = std::vector<std::pair<int, int>>;  // (source, target)

struct GoldAlignment {
  std::set<std::pair<int, int>> sure, possible;  // possible includes sure
};

// "0-1 2?3": '-' sure, '?' possible. Throws std::invalid_argument naming the bad token.
GoldAlignment parse_pharaoh(const std::string& line);
std::string to_pharaoh(const AlignPairs& a);

// Argmax source position per target row of weights [T, S]; columns at or
// past src_len (EOS) give no link. shift = 1 reads row t+1 for target t
// (attention computed while emitting the next word).
AlignPairs hard_alignment(const torch::Tensor& weights, int src_len, int shift = 0);

struct AerCounts {
  long a = 0, s = 0, a_and_s = 0, a_and_p = 0;
  void add(const AlignPairs& hyp, const GoldAlignment& gold);
  double aer() const;
};

// Alignment accuracy: of the target words that have a gold link (sure or
// possible), the share whose hard alignment is one of their gold links.
struct AlignAccuracyCounts {
  long words = 0, correct = 0;
  void add(const AlignPairs& hyp, const GoldAlignment& gold);
  double accuracy() const { return words ? static_cast<double>(correct) / static_cast<double>(words) : 0.0; }
};

// AER and alignment accuracy of the attention of forced decoding (teacher
// forcing on the reference), as Luong et al. (2015) measured alignments: the
// rows then belong to the reference's words, so gold links land on the right
// rows even where the model's own output would differ. attention[i] is
// [words + 1, source words + 1]: a row per reference word and one for EOS, a
// column per source word and one for EOS. Returns {aer, aer_by_shift {"0","1"},
// alignment_accuracy, alignment_accuracy_by_shift, align_shift,
// alignment_from}; shift 1 reads word t from row t+1 (the EOS row serves the
// last word).
nlohmann::json forced_alignment_metrics(const std::vector<torch::Tensor>& attention,
                                        const std::vector<GoldAlignment>& gold, int shift);

}  // namespace attn
