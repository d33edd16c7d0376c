// Batched beam search: B sentences x K beams run as one batch of B*K rows;
// per step, one top-2K over [B, K*V], then bookkeeping on small CPU arrays.
// Attention rows and tokens are recovered by backtracking parent pointers
// at the end, so they survive beam reordering.
#include <algorithm>
#include <cmath>
#include <limits>

#include "data/vocab.h"
#include "search/search.h"

namespace attn {

using torch::Tensor;

namespace {

struct Finished {
  int step, slot, token;
  double log_prob, score;
  bool ended;
};

}  // namespace

std::vector<std::vector<Hypothesis>> beam_search(Ensemble& models, const Batch& batch, const SearchOptions& o) {
  torch::NoGradGuard no_grad;
  const int64_t B = batch.size(), K = o.beam;
  const double NEG = -std::numeric_limits<double>::infinity();
  auto dev = batch.src.device();
  models.start(batch);
  models.select(torch::arange(B, torch::TensorOptions().dtype(torch::kLong).device(dev)).repeat_interleave(K),
                /*memory_too=*/true);

  std::vector<int64_t> src_len = source_lengths(batch);
  int longest = 0;
  std::vector<int> max_len = max_output_lengths(src_len, o, longest);
  // Rows are (active sentence a, beam k) at a * K + k. Sentences that finish
  // leave the batch, so the decoder only works on the ones still searching.
  std::vector<int64_t> active(B);
  for (int64_t b = 0; b < B; ++b) active[b] = b;
  std::vector<double> scores(B * K, NEG);  // raw log-probs of the rows
  for (int64_t b = 0; b < B; ++b) scores[b * K] = 0;  // one live beam to start
  // Per step: for each row of the next step, its parent row in this step's
  // layout and its token; attention rows in this step's layout.
  std::vector<std::vector<int>> parent, token;
  std::vector<std::vector<double>> cum;  // per step: each row's log-prob before it (per-token log-probs)
  std::vector<Tensor> weights;
  std::vector<std::vector<Finished>> fin(B);
  std::vector<char> done(B, 0);
  Tensor y = torch::full({B * K}, Vocab::kBos, torch::TensorOptions().dtype(torch::kLong).device(dev));
  auto keep_n = static_cast<size_t>(std::max(1, o.nbest));

  for (int t = 0; t < longest && !active.empty(); ++t) {
    const int64_t A = static_cast<int64_t>(active.size());
    cum.push_back(scores);
    EnsembleStep out = models.step(y);
    if (o.keep_attention && out.attention.defined()) weights.push_back(out.attention);
    Tensor& logp = out.logp;  // [A*K, V]
    int64_t V = logp.size(1);
    Tensor base = torch::tensor(scores, torch::kDouble).to(dev).to(logp.scalar_type()).unsqueeze(1);
    auto [top_v, top_i] = (base + logp).view({A, K * V}).topk(std::min<int64_t>(2 * K, K * V), 1);
    top_v = top_v.to(torch::kCPU).to(torch::kDouble);
    top_i = top_i.to(torch::kCPU);
    auto tv = top_v.accessor<double, 2>();
    auto ti = top_i.accessor<int64_t, 2>();
    std::vector<int64_t> next_active;
    std::vector<int> par, tok;
    std::vector<double> next;
    for (int64_t a = 0; a < A; ++a) {
      const int64_t b = active[a];
      bool last = t + 1 >= max_len[b];
      std::vector<int> cpar(K, static_cast<int>(a * K)), ctok(K, Vocab::kPad);  // idle rows: harmless filler
      std::vector<double> cnext(K, NEG);
      int64_t filled = 0;
      for (int64_t c = 0; c < top_v.size(1) && filled < K; ++c) {
        double v = tv[a][c];
        if (!std::isfinite(v)) break;
        int row = static_cast<int>(a * K + ti[a][c] / V);
        int w = static_cast<int>(ti[a][c] % V);
        if (w == Vocab::kEos || last) {
          bool ended = w == Vocab::kEos;
          int len = t + 1;  // tokens including EOS
          fin[b].push_back({t, row, w, v, v / length_penalty(len, o.length_penalty), ended});
          if (last && !ended) ++filled;  // at the limit every candidate is final
          continue;
        }
        cpar[filled] = row;
        ctok[filled] = w;
        cnext[filled++] = v;
      }
      // Stop only when no live hypothesis can still beat the n-th best
      // finished one. Log-probs only fall, and the length penalty at most
      // divides by lp(max_len), so L / lp(max_len) bounds a live one's score.
      if (last) done[b] = 1;
      if (!done[b] && fin[b].size() >= keep_n) {
        std::vector<double> fs;
        for (const auto& f : fin[b]) fs.push_back(f.score);
        std::nth_element(fs.begin(), fs.begin() + static_cast<long>(keep_n - 1), fs.end(), std::greater<>());
        double nth = fs[keep_n - 1];
        double bound = NEG;
        for (double v : cnext)
          if (std::isfinite(v)) bound = std::max(bound, v / length_penalty(max_len[b], o.length_penalty));
        if (bound <= nth) done[b] = 1;
      }
      if (done[b]) continue;
      next_active.push_back(b);
      par.insert(par.end(), cpar.begin(), cpar.end());
      tok.insert(tok.end(), ctok.begin(), ctok.end());
      next.insert(next.end(), cnext.begin(), cnext.end());
    }
    parent.push_back(par);
    token.push_back(tok);
    if (next_active.empty()) break;
    Tensor sel = torch::tensor(std::vector<int64_t>(par.begin(), par.end()), torch::kLong).to(dev);
    models.select(sel, next_active.size() < active.size());  // any row of a sentence has its memory
    y = torch::tensor(std::vector<int64_t>(tok.begin(), tok.end()), torch::kLong).to(dev);
    scores = next;
    active = next_active;
  }

  // Backtrack: rows of W_t for the final token, then through the parents.
  std::vector<Tensor> W;  // per step [rows, S]; the number of rows shrinks
  for (const auto& w : weights) W.push_back(w.to(torch::kCPU).to(torch::kFloat));
  std::vector<std::vector<Hypothesis>> res(B);
  for (int64_t b = 0; b < B; ++b) {
    auto& f = fin[b];
    std::stable_sort(f.begin(), f.end(), [](const Finished& x, const Finished& y) { return x.score > y.score; });
    for (size_t i = 0; i < std::min(keep_n, f.size()); ++i) {
      Hypothesis h;
      h.log_prob = f[i].log_prob;
      h.score = f[i].score;
      h.ended = f[i].ended;
      std::vector<int> toks;
      std::vector<Tensor> rows;
      if (!h.ended) {
        toks.push_back(f[i].token);
        if (!W.empty()) rows.push_back(W[f[i].step][f[i].slot]);
      }
      int slot = f[i].slot;
      // Each token's log-prob: the row's total after it minus its parent's.
      std::vector<double> lps{f[i].log_prob - cum[static_cast<size_t>(f[i].step)][static_cast<size_t>(slot)]};
      for (int u = f[i].step - 1; u >= 0; --u) {
        toks.push_back(token[u][slot]);
        const int p = parent[u][slot];
        lps.push_back(cum[static_cast<size_t>(u) + 1][static_cast<size_t>(slot)] -
                      cum[static_cast<size_t>(u)][static_cast<size_t>(p)]);
        slot = p;
        if (!W.empty()) rows.push_back(W[u][slot]);
      }
      std::reverse(toks.begin(), toks.end());
      std::reverse(rows.begin(), rows.end());
      std::reverse(lps.begin(), lps.end());
      h.tokens = toks;
      h.token_log_probs = std::move(lps);
      if (!W.empty()) {
        h.attention = rows.empty() ? torch::zeros({0, src_len[b]})
                                   : torch::stack(rows, 0).narrow(1, 0, src_len[b]).clone();
        if (h.ended) h.eos_attention = W[f[i].step][f[i].slot].narrow(0, 0, src_len[b]).clone();  // emitted EOS
      }
      res[b].push_back(std::move(h));
    }
  }
  return res;
}

}  // namespace attn
