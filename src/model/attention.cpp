#include "model/attention.h"

#include <limits>

#include "config/registry.h"
#include "model/flops.h"
#include "ops/attention_kernels.h"
#include "ops/kernels.h"
#include "ops/row_linear.h"

namespace attn {

namespace nn = torch::nn;
using torch::Tensor;

namespace {
// q^T k for the dot-product family (the kernels where they apply, else bmm).
Tensor scores_by_dot(const Tensor& q, const AttentionMemory& mem) {
  return dot_scores(q, mem.proj_keys, mem.keys_sink, mem.rows);
}
}  // namespace

Tensor select_rows(const Tensor& t, const Tensor& idx) { return t.defined() ? t.index_select(0, idx) : t; }

AttentionMemory AttentionImpl::memory(const Tensor& values, const Tensor& mask, const Tensor& src_len) {
  AttentionMemory m{values, project_keys(values), mask, src_len, mask.logical_not().unsqueeze(1)};
  bool kernels = fused_kernels_for({&values});
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

Tensor AttentionMemory::row_keys() const { return rows.defined() ? proj_keys.index_select(0, rows) : proj_keys; }

AttentionOutput AttentionImpl::forward(const Tensor& query, const AttentionMemory& mem, const Tensor& positions,
                                       const Tensor& coverage) {
  Tensor scores = score(query, mem, coverage);  // [B, T, S]
  const double tau = temperature_ * inference_temperature_;
  if (tau != 1.0) scores = scores / tau;
  Tensor p = prior(query, mem, positions);
  if (p.defined()) scores = scores + p;
  // -inf on padding: exp(-inf) = 0 exactly, so padding gets no weight at all.
  Tensor padding = mem.padding.defined() ? mem.padding : mem.mask.logical_not().unsqueeze(1);
  scores = scores.masked_fill(padding, -std::numeric_limits<double>::infinity());
  Tensor weights = torch::softmax(scores, -1);
  Tensor used = dropout_ > 0 && is_training() ? torch::dropout(weights, dropout_, true) : weights;
  Tensor context = attention_context(used, mem.values, mem.values_sink, mem.rows);  // [B, T, S] x [B, S, K]
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
  Tensor v_flat = v->weight.view({-1});
  if (!coverage_layer || !coverage.defined()) return additive_scores(wq, mem.proj_keys, v_flat, mem.keys_sink, mem.rows);
  // Coverage (Tu et al. 2016) adds V beta_j to U h_j: the same score over keys that change per step.
  Tensor keys = mem.row_keys() + coverage_layer(coverage.unsqueeze(-1));  // [B, S, A]
  return additive_scores(wq, keys, v_flat);
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

// --- registry ---------------------------------------------------------------
// One entry per score: the decoders it fits, the rule it adds to config
// validation, its constructor, and its FLOPs (keys once, then per query).

namespace {
double gemm(double rows, double in, double out) { return gemm_flops(rows, in, out); }
using Sizes = std::pair<double, double>;
double D(const ModelConfig& m) { return m.dec_hidden; }
double K(const ModelConfig& m) { return 2.0 * m.hidden; }

template <class Impl>
std::shared_ptr<AttentionImpl> keyed(const AttentionConfig& c, int64_t q, int64_t k, int64_t) {
  return std::make_shared<Impl>(q, k, c.temperature, c.dropout);
}

const std::vector<std::string> kAny = {"bahdanau", "luong"}, kLuong = {"luong"};

[[maybe_unused]] const bool kBuiltIn =
    register_score({"additive", "Bahdanau: v^T tanh(W q + U h)", kAny, nullptr,
                    [](const AttentionConfig& c, int64_t q, int64_t k, int64_t a) -> std::shared_ptr<AttentionImpl> {
                      return std::make_shared<AdditiveAttentionImpl>(q, k, a, c.coverage, c.temperature, c.dropout);
                    },
                    [](const ModelConfig& m, double S) { return Sizes{gemm(S, K(m), D(m)), gemm(1, D(m), D(m)) + 2 * S * D(m)}; },
                    nullptr}) &&
    register_score({"dot", "Luong dot: q . h", kLuong,
                    [](const ModelConfig& m, const DataConfig&) -> std::string {
                      if (m.dec_hidden == 2 * m.hidden) return "";
                      return "score: \"dot\" needs dec_hidden (" + std::to_string(m.dec_hidden) + ") == 2 * hidden (" +
                             std::to_string(2 * m.hidden) + ")";
                    },
                    [](const AttentionConfig& c, int64_t q, int64_t k, int64_t) -> std::shared_ptr<AttentionImpl> {
                      TORCH_CHECK(q == k, "dot attention needs equal query and key sizes, got ", q, " and ", k);
                      return std::make_shared<DotAttentionImpl>(c.temperature, c.dropout);
                    },
                    [](const ModelConfig& m, double S) { return Sizes{0.0, 2 * S * K(m)}; }, nullptr}) &&
    register_score({"general", "Luong general: q^T W h", kLuong, nullptr, keyed<GeneralAttentionImpl>,
                    [](const ModelConfig& m, double S) { return Sizes{gemm(S, K(m), D(m)), 2 * S * D(m)}; }, nullptr}) &&
    register_score({"concat", "Luong concat: v^T tanh(W [q; h]), the additive score", kAny, nullptr,
                    find_score("additive")->make, find_score("additive")->flops, nullptr}) &&
    register_score({"location", "Luong location: softmax(W q), one weight per source position", kLuong,
                    [](const ModelConfig& m, const DataConfig& d) -> std::string {
                      if (m.attention.max_src_len >= d.max_src_len + 1) return "";
                      return "max_src_len: " + std::to_string(m.attention.max_src_len) +
                             " is shorter than data.max_src_len + 1 (" + std::to_string(d.max_src_len + 1) + ")";
                    },
                    [](const AttentionConfig& c, int64_t q, int64_t, int64_t) -> std::shared_ptr<AttentionImpl> {
                      return std::make_shared<LocationAttentionImpl>(q, c.max_src_len, c.temperature, c.dropout);
                    },
                    [](const ModelConfig& m, double) { return Sizes{0.0, gemm(1, D(m), m.attention.max_src_len)}; },
                    [](const AttentionConfig& c) -> int64_t { return c.max_src_len - 1; }}) &&
    register_score({"local-m", "Luong local-m: general scores in a Gaussian window at p = t", kLuong, nullptr,
                    [](const AttentionConfig& c, int64_t q, int64_t k, int64_t) -> std::shared_ptr<AttentionImpl> {
                      return std::make_shared<LocalAttentionImpl>(false, q, k, c.window, c.temperature, c.dropout);
                    },
                    find_score("general")->flops, nullptr}) &&
    register_score({"local-p", "Luong local-p: general scores in a Gaussian window at a predicted p", kLuong, nullptr,
                    [](const AttentionConfig& c, int64_t q, int64_t k, int64_t) -> std::shared_ptr<AttentionImpl> {
                      return std::make_shared<LocalAttentionImpl>(true, q, k, c.window, c.temperature, c.dropout);
                    },
                    [](const ModelConfig& m, double S) {
                      return Sizes{gemm(S, K(m), D(m)), 2 * S * D(m) + gemm(1, D(m), D(m)) + gemm(1, D(m), 1)};
                    },
                    nullptr});
}  // namespace

std::shared_ptr<AttentionImpl> make_attention(const AttentionConfig& c, int64_t query_dim, int64_t key_dim,
                                              int64_t attn_dim) {
  const AttentionScore* s = find_score(c.score);
  TORCH_CHECK(s && s->make, "unknown attention score \"", c.score, "\"");
  return s->make(c, query_dim, key_dim, attn_dim);
}

}  // namespace attn
