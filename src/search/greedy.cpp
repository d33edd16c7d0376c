#include <algorithm>
#include <cmath>

#include "data/vocab.h"
#include "search/search.h"

namespace attn {

using torch::Tensor;

std::vector<std::vector<Hypothesis>> greedy_search(Ensemble& models, const Batch& batch, const SearchOptions& o) {
  torch::NoGradGuard no_grad;
  const int64_t B = batch.size();
  auto dev = batch.src.device();
  models.start(batch);
  std::vector<int64_t> src_len = source_lengths(batch);
  int longest = 0;
  std::vector<int> max_len = max_output_lengths(src_len, o, longest);
  auto long_opts = torch::TensorOptions().dtype(torch::kLong);
  Tensor y = torch::full({B}, Vocab::kBos, long_opts.device(dev));
  std::vector<std::vector<Hypothesis>> res(B, std::vector<Hypothesis>(1));
  std::vector<Tensor> att_steps, att_rows;  // per step: weights [A, S] and their sentences [A]
  // Row a of the decoder batch is sentence active[a]. Sentences that finish
  // leave the batch, so later steps only work on those still decoding.
  std::vector<int64_t> active(B);
  for (int64_t b = 0; b < B; ++b) active[b] = b, res[b][0].ended = false;
  for (int t = 0; t < longest && !active.empty(); ++t) {
    EnsembleStep out = models.step(y);
    auto [lp, tok] = out.logp.max(-1);
    // One transfer per step: the chosen tokens, their log-probs, the weights.
    Tensor tok_c = tok.to(torch::kCPU), lp_c = lp.to(torch::kCPU).to(torch::kDouble);
    if (o.keep_attention && out.attention.defined()) {
      att_steps.push_back(out.attention.to(torch::kCPU).to(torch::kFloat));
      att_rows.push_back(torch::tensor(active, torch::kLong));
    }
    auto ta = tok_c.accessor<int64_t, 1>();
    auto la = lp_c.accessor<double, 1>();
    std::vector<int64_t> keep, next_active;
    for (int64_t a = 0; a < static_cast<int64_t>(active.size()); ++a) {
      const int64_t b = active[static_cast<size_t>(a)];
      Hypothesis& h = res[b][0];
      h.log_prob += la[a];
      h.token_log_probs.push_back(la[a]);
      if (ta[a] == Vocab::kEos) {
        h.ended = true;
        continue;
      }
      h.tokens.push_back(static_cast<int>(ta[a]));
      if (t + 1 >= max_len[b]) continue;
      keep.push_back(a);
      next_active.push_back(b);
    }
    if (next_active.empty()) break;
    if (next_active.size() < active.size()) {
      Tensor sel = torch::tensor(keep, long_opts).to(dev);
      models.select(sel, /*memory_too=*/true);
      tok = tok.index_select(0, sel);
    }
    y = tok;
    active = std::move(next_active);
  }
  // Attention [B, steps, S]: one scatter per step, then a slice per sentence.
  Tensor att;
  if (!att_steps.empty()) {
    att = torch::zeros({B, static_cast<int64_t>(att_steps.size()), att_steps[0].size(1)});
    for (size_t t = 0; t < att_steps.size(); ++t)
      att.select(1, static_cast<int64_t>(t)).index_copy_(0, att_rows[t], att_steps[t]);
  }
  for (int64_t b = 0; b < B; ++b) {
    Hypothesis& h = res[b][0];
    h.score = h.log_prob;
    if (att.defined()) {
      const auto n = static_cast<int64_t>(h.tokens.size());
      h.attention = att[b].narrow(0, 0, n).narrow(1, 0, src_len[b]).clone();
      if (h.ended) h.eos_attention = att[b][n].narrow(0, 0, src_len[b]).clone();  // the step that emitted EOS
    }
  }
  return res;
}

}  // namespace attn
