#include "model/attention.h"

#include <limits>

#include "model/attention_kernels.h"
#include "model/row_linear.h"

namespace attn {

namespace nn = torch::nn;
using torch::Tensor;

namespace {
// One query per sentence (a decoder step): bmm would be B tiny GEMMs, which
// BLAS handles poorly; the fused row kernels do better. Other shapes: bmm.
bool one_query_rows(const Tensor& a, const Tensor& b, const Tensor& rows = {}) {
  return a.size(1) == 1 && batched_rows_supported(a, b, rows);
}

Tensor scores_by_dot(const Tensor& q, const AttentionMemory& mem) {
  const Tensor& k = mem.proj_keys;
  if (one_query_rows(q, k, mem.rows)) return dot_scores(q, k, mem.keys_sink, mem.rows);
  return torch::bmm(q, mem.row_keys().transpose(1, 2));  // [B, T, S]
}

}  // namespace

Tensor select_rows(const Tensor& t, const Tensor& idx) { return t.defined() ? t.index_select(0, idx) : t; }

AttentionMemory AttentionImpl::memory(const Tensor& values, const Tensor& mask, const Tensor& src_len) {
  AttentionMemory m{values, project_keys(values), mask, src_len, mask.logical_not().unsqueeze(1)};
  bool kernels = batched_rows_supported(values, values);
  // Sinks only pay off when the per-step kernels run and gradients flow.
  if (torch::GradMode::is_enabled() && kernels) {
    if (values.requires_grad()) std::tie(m.values, m.values_sink) = gradient_sink(m.values);
    if (m.proj_keys.requires_grad()) std::tie(m.proj_keys, m.keys_sink) = gradient_sink(m.proj_keys);
  }
  m.by_rows = !torch::GradMode::is_enabled() && kernels && fused_steps();
  return m;
}

AttentionMemory AttentionMemory::index_select(const Tensor& idx) const {
  AttentionMemory m;
  m.mask = select_rows(mask, idx), m.src_len = select_rows(src_len, idx), m.padding = select_rows(padding, idx);
  m.by_rows = by_rows;
  if (by_rows) {
    m.values = values, m.proj_keys = proj_keys;
    m.rows = rows.defined() ? rows.index_select(0, idx) : idx.to(torch::kLong).contiguous();
  } else {
    m.values = select_rows(values, idx), m.proj_keys = select_rows(proj_keys, idx);
  }
  return m;
}

Tensor AttentionMemory::row_values() const { return rows.defined() ? values.index_select(0, rows) : values; }
Tensor AttentionMemory::row_keys() const { return rows.defined() ? proj_keys.index_select(0, rows) : proj_keys; }

AttentionOutput AttentionImpl::forward(const Tensor& query, const AttentionMemory& mem, const Tensor& positions,
                                       const Tensor& coverage) {
  Tensor scores = score(query, mem, coverage);  // [B, T, S]
  if (temperature_ != 1.0) scores = scores / temperature_;
  Tensor p = prior(query, mem, positions);
  if (p.defined()) scores = scores + p;
  // -inf on padding: exp(-inf) = 0 exactly, so padding gets no weight at all.
  Tensor padding = mem.padding.defined() ? mem.padding : mem.mask.logical_not().unsqueeze(1);
  scores = scores.masked_fill(padding, -std::numeric_limits<double>::infinity());
  Tensor weights = torch::softmax(scores, -1);
  Tensor used = dropout_ > 0 && is_training() ? torch::dropout(weights, dropout_, true) : weights;
  Tensor context = one_query_rows(used, mem.values, mem.rows)
                       ? attention_context(used, mem.values, mem.values_sink, mem.rows)
                       : torch::bmm(used, mem.row_values());  // [B, T, S] x [B, S, K]
  return {context, weights};
}

// --- additive -------------------------------------------------------------

AdditiveAttentionImpl::AdditiveAttentionImpl(int64_t query_dim, int64_t key_dim, int64_t attn_dim, bool coverage,
                                             double temperature, double dropout)
    : AttentionImpl(temperature, dropout) {
  query_layer = register_module("query_layer", nn::Linear(nn::LinearOptions(query_dim, attn_dim).bias(false)));
  key_layer = register_module("key_layer", nn::Linear(nn::LinearOptions(key_dim, attn_dim)));
  v = register_module("v", nn::Linear(nn::LinearOptions(attn_dim, 1).bias(false)));
  if (coverage) coverage_layer = register_module("coverage_layer", nn::Linear(nn::LinearOptions(1, attn_dim).bias(false)));
}

Tensor AdditiveAttentionImpl::project_keys(const Tensor& values) { return key_layer(values); }  // U h + b

Tensor AdditiveAttentionImpl::score(const Tensor& query, const AttentionMemory& mem, const Tensor& coverage) {
  Tensor wq = apply_linear(query_layer, query);  // [B, T, A]
  bool with_coverage = coverage_layer && coverage.defined();
  Tensor v_flat = v->weight.view({-1});
  if (!with_coverage && additive_scores_supported(wq, mem.proj_keys, v_flat, mem.rows))
    return additive_scores(wq, mem.proj_keys, v_flat, mem.keys_sink, mem.rows);  // fused CPU kernel, one pass
  Tensor q = wq.unsqueeze(2);              // [B, T, 1, A]
  Tensor k = mem.row_keys().unsqueeze(1);  // [B, 1, S, A]
  Tensor pre = q + k;                      // [B, T, S, A]
  if (with_coverage) pre = pre + coverage_layer(coverage.unsqueeze(-1)).unsqueeze(1);
  return v(torch::tanh(pre)).squeeze(-1);  // [B, T, S]
}

// --- dot / general ----------------------------------------------------------

Tensor DotAttentionImpl::score(const Tensor& query, const AttentionMemory& mem, const Tensor&) {
  return scores_by_dot(query, mem);  // q^T h
}

GeneralAttentionImpl::GeneralAttentionImpl(int64_t query_dim, int64_t key_dim, double temperature, double dropout)
    : AttentionImpl(temperature, dropout) {
  key_layer = register_module("key_layer", nn::Linear(nn::LinearOptions(key_dim, query_dim).bias(false)));
}

Tensor GeneralAttentionImpl::project_keys(const Tensor& values) { return key_layer(values); }  // W h: [B, S, Q]

Tensor GeneralAttentionImpl::score(const Tensor& query, const AttentionMemory& mem, const Tensor&) {
  return scores_by_dot(query, mem);  // q^T (W h)
}

// --- location ---------------------------------------------------------------

LocationAttentionImpl::LocationAttentionImpl(int64_t query_dim, int64_t max_len, double temperature, double dropout)
    : AttentionImpl(temperature, dropout), max_src_len(max_len) {
  layer = register_module("layer", nn::Linear(query_dim, max_len));
}

Tensor LocationAttentionImpl::score(const Tensor& query, const AttentionMemory& mem, const Tensor&) {
  int64_t S = mem.values.size(1);
  TORCH_CHECK(S <= max_src_len, "location attention: source of ", S, " positions exceeds max_src_len ",
              max_src_len);
  return layer(query).narrow(-1, 0, S);
}

// --- local ------------------------------------------------------------------

LocalAttentionImpl::LocalAttentionImpl(bool predictive_, int64_t query_dim, int64_t key_dim, int64_t window_,
                                       double temperature, double dropout)
    : GeneralAttentionImpl(query_dim, key_dim, temperature, dropout), predictive(predictive_), window(window_) {
  if (predictive) {
    pos_hidden = register_module("pos_hidden", nn::Linear(nn::LinearOptions(query_dim, query_dim).bias(false)));
    pos_out = register_module("pos_out", nn::Linear(nn::LinearOptions(query_dim, 1).bias(false)));
  }
}

Tensor LocalAttentionImpl::centres(const Tensor& query, const AttentionMemory& mem, const Tensor& positions) {
  Tensor last = (mem.src_len - 1).to(query.scalar_type()).unsqueeze(1);  // [B, 1]
  if (predictive) return last * torch::sigmoid(pos_out(torch::tanh(pos_hidden(query)))).squeeze(-1);
  // local-m: p_t = t, kept inside the sentence so the window is never empty.
  Tensor t = positions.to(query.scalar_type()).unsqueeze(0);  // [1, T]
  return torch::minimum(t.expand({query.size(0), t.size(1)}), last.expand({query.size(0), t.size(1)}));
}

Tensor LocalAttentionImpl::prior(const Tensor& query, const AttentionMemory& mem, const Tensor& positions) {
  Tensor p = centres(query, mem, positions).unsqueeze(-1);  // [B, T, 1]
  Tensor s = torch::arange(mem.values.size(1), query.options()).view({1, 1, -1});
  Tensor dist = s - p;
  double sigma = static_cast<double>(window) / 2.0;
  Tensor logp = -(dist * dist) / (2.0 * sigma * sigma);
  return logp.masked_fill(dist.abs() > static_cast<double>(window), -std::numeric_limits<double>::infinity());
}

// --- factory ----------------------------------------------------------------

std::shared_ptr<AttentionImpl> make_attention(const AttentionConfig& c, int64_t query_dim, int64_t key_dim,
                                              int64_t attn_dim) {
  const auto& s = c.score;
  if (s == "additive" || s == "concat")
    return std::make_shared<AdditiveAttentionImpl>(query_dim, key_dim, attn_dim, c.coverage, c.temperature, c.dropout);
  if (s == "dot") {
    TORCH_CHECK(query_dim == key_dim, "dot attention needs equal query and key sizes, got ", query_dim, " and ",
                key_dim);
    return std::make_shared<DotAttentionImpl>(c.temperature, c.dropout);
  }
  if (s == "general") return std::make_shared<GeneralAttentionImpl>(query_dim, key_dim, c.temperature, c.dropout);
  if (s == "location")
    return std::make_shared<LocationAttentionImpl>(query_dim, c.max_src_len, c.temperature, c.dropout);
  if (s == "local-m" || s == "local-p")
    return std::make_shared<LocalAttentionImpl>(s == "local-p", query_dim, key_dim, c.window, c.temperature,
                                                c.dropout);
  TORCH_CHECK(false, "unknown attention score \"", s, "\"");
}

}  // namespace attn
