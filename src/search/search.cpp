// What greedy and beam search share.
#include <algorithm>
#include <cmath>
#include <limits>

#include "data/vocab.h"
#include "search/search.h"

namespace attn {

using torch::Tensor;

SearchOptions search_options(const DecodeConfig& d) {
  return {d.beam, d.length_penalty, d.max_len_ratio, d.max_len_add, d.nbest};
}

std::string decoding_summary(const SearchOptions& o) {
  if (o.beam <= 1) return "greedy";
  char buf[64];
  std::snprintf(buf, sizeof buf, "beam %d, length penalty %g", o.beam, o.length_penalty);
  return buf;
}

double length_penalty(int length, double alpha) {
  return alpha == 0 ? 1.0 : std::pow((5.0 + length) / 6.0, alpha);
}

std::vector<int64_t> source_lengths(const Batch& batch) {
  Tensor len = batch.src_len.to(torch::kCPU).contiguous();
  return std::vector<int64_t>(len.data_ptr<int64_t>(), len.data_ptr<int64_t>() + len.numel());
}

std::vector<int> max_output_lengths(const std::vector<int64_t>& src_len, const SearchOptions& o, int& longest) {
  std::vector<int> out(src_len.size());
  longest = 0;
  for (size_t b = 0; b < src_len.size(); ++b) {
    int source_tokens = static_cast<int>(src_len[b]) - 1;  // without EOS
    out[b] = std::max(1, static_cast<int>(o.max_len_ratio * source_tokens) + o.max_len_add);
    longest = std::max(longest, out[b]);
  }
  return out;
}

std::vector<std::vector<Hypothesis>> search(Ensemble& models, const Batch& batch, const SearchOptions& opts) {
  return opts.beam <= 1 ? greedy_search(models, batch, opts) : beam_search(models, batch, opts);
}

void mask_never_output(Tensor& logp) {
  // <pad> and <s> are never printed, so a hypothesis holding one would read
  // like another with a different score (n-best lists repeated entries).
  // Set after the softmax: the other tokens keep the model's log-probabilities.
  const float inf = std::numeric_limits<float>::infinity();
  if (logp.device().is_cpu() && logp.scalar_type() == torch::kFloat && logp.is_contiguous()) {
    // Two stores per row: cheaper than any tensor op at batch 1.
    const int64_t V = logp.size(-1), rows = logp.numel() / V;
    float* p = logp.data_ptr<float>();
    for (int64_t r = 0; r < rows; ++r) p[r * V + Vocab::kPad] = p[r * V + Vocab::kBos] = -inf;
    return;
  }
  logp.select(-1, Vocab::kPad).fill_(-inf);
  logp.select(-1, Vocab::kBos).fill_(-inf);
}

}  // namespace attn
