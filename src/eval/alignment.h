// Hard alignments from attention, Pharaoh I/O, and Alignment Error Rate
// (Och & Ney 2003): AER = 1 - (|A n S| + |A n P|) / (|A| + |S|), P includes S.
#pragma once
#include <torch/torch.h>

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

}  // namespace attn
