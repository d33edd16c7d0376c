#include <algorithm>
#include <cmath>

#include "data/vocab.h"
#include "search/search.h"

namespace attn {

using torch::Tensor;

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

std::vector<std::vector<Hypothesis>> search(Seq2SeqImpl& model, const Batch& batch, const SearchOptions& opts) {
  return opts.beam <= 1 ? greedy_search(model, batch, opts) : beam_search(model, batch, opts);
}

std::vector<std::vector<Hypothesis>> greedy_search(Seq2SeqImpl& model, const Batch& batch, const SearchOptions& o) {
  torch::NoGradGuard no_grad;
  const int64_t B = batch.size();
  auto dev = batch.src.device();
  auto enc = model.encode(batch.src, batch.src_len);
  auto [mem, st] = model.decoder->start(enc);
  std::vector<int64_t> src_len = source_lengths(batch);
  int longest = 0;
  std::vector<int> max_len = max_output_lengths(src_len, o, longest);
  Tensor y = torch::full({B}, Vocab::kBos, torch::TensorOptions().dtype(torch::kLong).device(dev));
  std::vector<Tensor> toks, lps, atts;
  std::vector<char> done(B, 0);
  int64_t n_done = 0;
  // Work stays on the device; one transfer per step to see who finished.
  for (int t = 0; t < longest && n_done < B; ++t) {
    StepOutput out = model.decoder->step(mem, st, y);
    auto [lp, tok] = torch::log_softmax(out.logits, -1).max(-1);
    toks.push_back(tok);
    lps.push_back(lp);
    if (out.attention.defined()) atts.push_back(out.attention);
    y = tok;
    Tensor ended = tok.eq(Vocab::kEos).to(torch::kCPU);
    auto e = ended.accessor<bool, 1>();
    for (int64_t b = 0; b < B; ++b)
      if (!done[b] && (e[b] || t + 1 >= max_len[b])) done[b] = 1, ++n_done;
  }
  Tensor T = torch::stack(toks, 1).to(torch::kCPU);   // [B, steps]
  Tensor L = torch::stack(lps, 1).to(torch::kCPU).to(torch::kDouble);
  Tensor A = atts.empty() ? Tensor() : torch::stack(atts, 1).to(torch::kCPU).to(torch::kFloat);  // [B, steps, S]
  auto ta = T.accessor<int64_t, 2>();
  auto la = L.accessor<double, 2>();
  std::vector<std::vector<Hypothesis>> res(B);
  for (int64_t b = 0; b < B; ++b) {
    Hypothesis h;
    h.ended = false;
    int steps = static_cast<int>(T.size(1));
    int n = 0;
    for (int t = 0; t < std::min(steps, max_len[b]); ++t) {
      h.log_prob += la[b][t];
      if (ta[b][t] == Vocab::kEos) {
        h.ended = true;
        break;
      }
      h.tokens.push_back(static_cast<int>(ta[b][t]));
      ++n;
    }
    h.score = h.log_prob;
    if (A.defined()) h.attention = A[b].narrow(0, 0, n).narrow(1, 0, src_len[b]).clone();
    res[b].push_back(std::move(h));
  }
  return res;
}

}  // namespace attn
