#include "ops/attention_kernels.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ops/kernel_math.h"
#include "ops/kernels.h"

namespace attn {

using torch::Tensor;

namespace {

// The row kernels: one sentence, all its query rows. Inner loops run over
// the contiguous last dimension so they vectorise.

// out[t, s] = sum_a v[a] tanh(q[t, a] + k[s, a])
template <typename T>
ATTN_INLINE void score_rows(const T* q, const T* k, const T* v, T* out, int64_t TQ, int64_t S, int64_t A) {
  for (int64_t t = 0; t < TQ; ++t)
    for (int64_t s = 0; s < S; ++s) {
      const T *qt = q + t * A, *ks = k + s * A;
      T acc = 0;
      {
#ifdef __clang__
#pragma clang fp reassociate(on)  // lets the sum over a vectorise
#endif
        for (int64_t a = 0; a < A; ++a) acc += v[a] * tanh_kernel(qt[a] + ks[a]);
      }
      out[t * S + s] = acc;
    }
}

// Backward of score_rows given g = dL/de [TQ, S]; accumulates into dq, dk, dv.
// The tanh is recomputed; g = 0 (masked positions) is skipped.
template <typename T>
ATTN_INLINE void score_grad_rows(const T* __restrict q, const T* __restrict k, const T* __restrict v, const T* g,
                                 T* __restrict dq, T* __restrict dk, T* __restrict dv, int64_t TQ, int64_t S,
                                 int64_t A) {
  for (int64_t t = 0; t < TQ; ++t)
    for (int64_t s = 0; s < S; ++s) {
      const T gs = g[t * S + s];
      if (gs == 0) continue;
      const T* __restrict qt = q + t * A;
      const T* __restrict ks = k + s * A;
      T* __restrict dqt = dq + t * A;
      T* __restrict dks = dk + s * A;
      for (int64_t a = 0; a < A; ++a) {
        T th = tanh_kernel(qt[a] + ks[a]);
        T d = gs * v[a] * (1 - th * th);
        dqt[a] += d;
        dks[a] += d;
        dv[a] += gs * th;
      }
    }
}

// out[t, :] = sum_s w[t, s] x[s, :]   (w = 0 skipped: exact)
template <typename T>
ATTN_INLINE void weighted_sum_rows(const T* w, const T* __restrict x, T* __restrict out, int64_t TQ, int64_t S,
                                   int64_t D) {
  for (int64_t t = 0; t < TQ; ++t) {
    T* __restrict ot = out + t * D;
    for (int64_t d = 0; d < D; ++d) ot[d] = 0;
    for (int64_t s = 0; s < S; ++s) {
      const T ws = w[t * S + s];
      if (ws == 0) continue;
      const T* __restrict xs = x + s * D;
      for (int64_t d = 0; d < D; ++d) ot[d] += ws * xs[d];
    }
  }
}

// out[t, s] = a[t, :] . x[s, :]
template <typename T>
ATTN_INLINE void dot_rows(const T* a, const T* x, T* out, int64_t TQ, int64_t S, int64_t D) {
  for (int64_t t = 0; t < TQ; ++t)
    for (int64_t s = 0; s < S; ++s) {
      const T *at = a + t * D, *xs = x + s * D;
      T acc = 0;
      {
#ifdef __clang__
#pragma clang fp reassociate(on)
#endif
        for (int64_t d = 0; d < D; ++d) acc += at[d] * xs[d];
      }
      out[t * S + s] = acc;
    }
}

// dx[s, :] += sum_t w[t, s] a[t, :]   (w = 0 skipped: exact)
template <typename T>
ATTN_INLINE void outer_add_rows(const T* w, const T* __restrict a, T* __restrict dx, int64_t TQ, int64_t S,
                                int64_t D) {
  for (int64_t t = 0; t < TQ; ++t)
    for (int64_t s = 0; s < S; ++s) {
      const T ws = w[t * S + s];
      if (ws == 0) continue;
      const T* __restrict at = a + t * D;
      T* __restrict dxs = dx + s * D;
      for (int64_t d = 0; d < D; ++d) dxs[d] += ws * at[d];
    }
}

// Float versions built for each CPU level (see ATTN_CPU_CLONES); double
// (used by the gradient tests) runs the templates as they are.
ATTN_CPU_CLONES void score_rows_f(const float* q, const float* k, const float* v, float* out, int64_t TQ,
                                  int64_t S, int64_t A) {
  score_rows(q, k, v, out, TQ, S, A);
}
ATTN_CPU_CLONES void score_grad_rows_f(const float* q, const float* k, const float* v, const float* g, float* dq,
                                       float* dk, float* dv, int64_t TQ, int64_t S, int64_t A) {
  score_grad_rows(q, k, v, g, dq, dk, dv, TQ, S, A);
}
ATTN_CPU_CLONES void weighted_sum_rows_f(const float* w, const float* x, float* out, int64_t TQ, int64_t S,
                                         int64_t D) {
  weighted_sum_rows(w, x, out, TQ, S, D);
}
ATTN_CPU_CLONES void dot_rows_f(const float* a, const float* x, float* out, int64_t TQ, int64_t S, int64_t D) {
  dot_rows(a, x, out, TQ, S, D);
}
ATTN_CPU_CLONES void outer_add_rows_f(const float* w, const float* a, float* dx, int64_t TQ, int64_t S,
                                      int64_t D) {
  outer_add_rows(w, a, dx, TQ, S, D);
}

// float -> the CPU-specific builds above, double -> the templates.
template <typename T>
void k_score(const T* q, const T* k, const T* v, T* o, int64_t TQ, int64_t S, int64_t A) {
  if constexpr (kFloat<T>) score_rows_f(q, k, v, o, TQ, S, A); else score_rows(q, k, v, o, TQ, S, A);
}
template <typename T>
void k_score_grad(const T* q, const T* k, const T* v, const T* g, T* dq, T* dk, T* dv, int64_t TQ, int64_t S,
                  int64_t A) {
  if constexpr (kFloat<T>) score_grad_rows_f(q, k, v, g, dq, dk, dv, TQ, S, A);
  else score_grad_rows(q, k, v, g, dq, dk, dv, TQ, S, A);
}
template <typename T>
void k_weighted_sum(const T* w, const T* x, T* o, int64_t TQ, int64_t S, int64_t D) {
  if constexpr (kFloat<T>) weighted_sum_rows_f(w, x, o, TQ, S, D); else weighted_sum_rows(w, x, o, TQ, S, D);
}
template <typename T>
void k_dot(const T* a, const T* x, T* o, int64_t TQ, int64_t S, int64_t D) {
  if constexpr (kFloat<T>) dot_rows_f(a, x, o, TQ, S, D); else dot_rows(a, x, o, TQ, S, D);
}
template <typename T>
void k_outer_add(const T* w, const T* a, T* dx, int64_t TQ, int64_t S, int64_t D) {
  if constexpr (kFloat<T>) outer_add_rows_f(w, a, dx, TQ, S, D); else outer_add_rows(w, a, dx, TQ, S, D);
}

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

bool is_double(const Tensor& t) { return t.scalar_type() == torch::kDouble; }

// A sink handed to Function::apply as a plain argument: a Tensor argument
// would count as an input (and an undefined one is not allowed).
struct Sink {
  Tensor buffer;
};

// Runs f(b) for every sentence b; sentences are independent, so in parallel.
template <typename F>
void each_sentence(int64_t B, const F& f) {
  at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) f(b);
  });
}

// Pointer to sentence b of a contiguous [B, ...] tensor.
template <typename T>
T* row(const Tensor& t, int64_t b) {
  return t.data_ptr<T>() + b * t.stride(0);
}

// Row of k / x that query row b reads: rows[b] with a row map, else b.
struct RowMap {
  const int64_t* map = nullptr;
  explicit RowMap(const Tensor& rows) : map(rows.defined() ? rows.data_ptr<int64_t>() : nullptr) {}
  int64_t operator()(int64_t b) const { return map ? map[b] : b; }
};

template <typename T>
Tensor score_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& rows = {}) {
  const int64_t TQ = q.size(1), S = k.size(1), A = q.size(2);
  Tensor out = torch::empty({q.size(0), TQ, S}, q.options());
  RowMap kr(rows);
  each_sentence(q.size(0), [&](int64_t b) {
    k_score(row<T>(q, b), row<T>(k, kr(b)), v.data_ptr<T>(), row<T>(out, b), TQ, S, A);
  });
  return out;
}

// dk goes into `dk` (a sink, or zeros).
template <typename T>
torch::autograd::tensor_list score_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                            const Tensor& dk) {
  const int64_t B = q.size(0), TQ = q.size(1), S = k.size(1), A = q.size(2);
  // dv per sentence, summed after: no two tasks write the same memory.
  Tensor dq = torch::zeros_like(q), dv = torch::zeros({B, A}, q.options());
  each_sentence(B, [&](int64_t b) {
    k_score_grad(row<T>(q, b), row<T>(k, b), v.data_ptr<T>(), row<T>(g, b), row<T>(dq, b), row<T>(dk, b),
                 row<T>(dv, b), TQ, S, A);
  });
  return {dq, dv.sum(0)};
}

// Per sentence: weights [TQ, S] x rows [S, D] -> [TQ, D] (weighted sums),
// or a [TQ, D] x rows [S, D] -> [TQ, S] (dots).
template <typename T>
Tensor rows_product(bool weighted, const Tensor& a, const Tensor& x, const Tensor& rows = {}) {
  const int64_t TQ = a.size(1), S = x.size(1), D = x.size(2);
  Tensor out = torch::empty({a.size(0), TQ, weighted ? D : S}, x.options());
  RowMap xr(rows);
  each_sentence(a.size(0), [&](int64_t b) {
    if (weighted)
      k_weighted_sum(row<T>(a, b), row<T>(x, xr(b)), row<T>(out, b), TQ, S, D);
    else
      k_dot(row<T>(a, b), row<T>(x, xr(b)), row<T>(out, b), TQ, S, D);
  });
  return out;
}
template <typename T>
Tensor weighted_sum(const Tensor& w, const Tensor& x) {
  return rows_product<T>(true, w, x);
}
template <typename T>
Tensor dots(const Tensor& a, const Tensor& x) {
  return rows_product<T>(false, a, x);
}

// out[b] += sum_t w[b, t, s] a[b, t, :]; out is [B, S, D]
template <typename T>
void outer_sum(const Tensor& w, const Tensor& a, const Tensor& out) {
  const int64_t TQ = w.size(1), S = w.size(2), D = a.size(2);
  each_sentence(w.size(0), [&](int64_t b) { k_outer_add(row<T>(w, b), row<T>(a, b), row<T>(out, b), TQ, S, D); });
}

// Where a kernel's gradient for its shared input goes: the sink if there is
// one (then autograd gets no tensor for that input), else a fresh zeroed one.
struct SharedGrad {
  Tensor target, returned;
};
SharedGrad shared_grad(AutogradContext* ctx, const Tensor& like) {
  const auto& saved = ctx->saved_data["sink"];
  Tensor sink = saved.isTensor() ? saved.toTensor() : Tensor();
  if (sink.defined()) return {sink, Tensor()};
  Tensor fresh = torch::zeros_like(like);
  return {fresh, fresh};
}

class AdditiveScoreFunction : public torch::autograd::Function<AdditiveScoreFunction> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                        const Sink& k_sink) {
    Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
    ctx->save_for_backward({qc, kc, vc});
    ctx->saved_data["sink"] = k_sink.buffer;
    return by_type(q, [&](auto zero) { return score_forward<decltype(zero)>(qc, kc, vc); });
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto s = ctx->get_saved_variables();
    Tensor g = grads[0].contiguous();
    SharedGrad dk = shared_grad(ctx, s[1]);
    tensor_list r = is_double(g) ? score_backward<double>(s[0], s[1], s[2], g, dk.target)
                                 : score_backward<float>(s[0], s[1], s[2], g, dk.target);
    return {r[0], dk.returned, r[1], Tensor()};
  }
};

// Dot scores e = q . k (kContext false) and contexts c = w x (true): each
// one's backward is made of the other's kernels, and the gradient for the
// shared input (k, x) goes into the sink when there is one.
//   dot:     dq = g k (weighted sum), dk += sum_t g q (outer sums)
//   context: dw = g . x (dots),       dx += sum_t w g (outer sums)
template <bool kContext>
class RowProductFunction : public torch::autograd::Function<RowProductFunction<kContext>> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& a, const Tensor& x, const Sink& sink) {
    Tensor ac = a.contiguous(), xc = x.contiguous();
    ctx->save_for_backward({ac, xc});
    ctx->saved_data["sink"] = sink.buffer;
    return by_type(a, [&](auto zero) {
      using T = decltype(zero);
      return kContext ? weighted_sum<T>(ac, xc) : dots<T>(ac, xc);
    });
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto s = ctx->get_saved_variables();
    Tensor g = grads[0].contiguous();
    SharedGrad dx = shared_grad(ctx, s[1]);
    Tensor da = by_type(g, [&](auto zero) {
      using T = decltype(zero);
      outer_sum<T>(kContext ? s[0] : g, kContext ? g : s[0], dx.target);
      return kContext ? dots<T>(g, s[1]) : weighted_sum<T>(g, s[1]);
    });
    return {da, dx.returned, Tensor()};
  }
};
using DotScoreFunction = RowProductFunction<false>;
using ContextFunction = RowProductFunction<true>;

// Identity on x; its backward adds what the kernels put in the sink to the
// gradient autograd collected for x' the ordinary way (from ATen ops, if
// any), and empties the sink so a second backward pass starts from zero.
// The kernels list x' as an input, so this node runs after all of them.
class SinkFunction : public torch::autograd::Function<SinkFunction> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Sink& sink) {
    ctx->set_materialize_grads(false);  // no zeros when only the kernels read x'
    ctx->saved_data["sink"] = sink.buffer;
    return x.clone();
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    Tensor sink = ctx->saved_data["sink"].toTensor();
    Tensor g = grads[0].defined() ? grads[0] + sink : sink.clone();
    sink.zero_();
    return {g, Tensor()};
  }
};

bool cpu_real(const Tensor& t, c10::ScalarType type) { return t.is_cpu() && t.scalar_type() == type; }

}  // namespace

float fast_tanh(float x) { return tanh_kernel(x); }

namespace {
// a's rows pair with b's: one to one, or through a row map into b.
bool rows_pair(const Tensor& a, const Tensor& b, const Tensor& rows) {
  if (!rows.defined()) return a.size(0) == b.size(0);
  return rows.is_cpu() && rows.scalar_type() == torch::kLong && rows.dim() == 1 && rows.is_contiguous() &&
         rows.size(0) == a.size(0);
}
}  // namespace

bool additive_scores_supported(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& rows) {
  auto type = q.scalar_type();
  return (type == torch::kFloat || type == torch::kDouble) && cpu_real(q, type) && cpu_real(k, type) &&
         cpu_real(v, type) && q.dim() == 3 && k.dim() == 3 && v.dim() == 1 && rows_pair(q, k, rows) &&
         q.size(2) == k.size(2) && v.size(0) == q.size(2);
}

bool batched_rows_supported(const Tensor& a, const Tensor& b, const Tensor& rows) {
  auto type = a.scalar_type();
  return (type == torch::kFloat || type == torch::kDouble) && cpu_real(a, type) && cpu_real(b, type) &&
         a.dim() == 3 && b.dim() == 3 && rows_pair(a, b, rows);
}

namespace {
void check_sink(const Tensor& sink, const Tensor& x) {
  TORCH_CHECK(!sink.defined() || (sink.sizes() == x.sizes() && sink.is_contiguous() &&
                                  sink.scalar_type() == x.scalar_type()),
              "gradient sink of shape ", sink.sizes(), " for an input of shape ", x.sizes());
}

// Without grad mode (decoding) the kernels run directly: no autograd node,
// and row maps are allowed.
bool direct(const Tensor& rows, const Tensor& into) {
  bool grad = torch::GradMode::is_enabled();
  TORCH_CHECK(!rows.defined() || !grad, "attention kernels: row maps are for decoding (no grad mode)");
  if (rows.defined()) {
    auto r = rows.accessor<int64_t, 1>();
    for (int64_t i = 0; i < r.size(0); ++i)
      TORCH_CHECK(r[i] >= 0 && r[i] < into.size(0), "attention kernels: row ", r[i], " of ", into.size(0));
  }
  return !grad;
}
}  // namespace

// The ATen formulations: any device and type, row maps by index_select.
namespace {
Tensor by_rows(const Tensor& x, const Tensor& rows) { return rows.defined() ? x.index_select(0, rows) : x; }
}  // namespace

Tensor additive_scores(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& k_sink, const Tensor& rows) {
  if (!fused_kernels_for({&q, &k, &v}) || !additive_scores_supported(q, k, v, rows))
    return torch::tanh(q.unsqueeze(2) + by_rows(k, rows).unsqueeze(1)).matmul(v);  // [B, T, S, A] . v
  check_sink(k_sink, k);
  if (direct(rows, k))
    return by_type(q, [&](auto zero) {
      return score_forward<decltype(zero)>(q.contiguous(), k.contiguous(), v.contiguous(), rows);
    });
  return AdditiveScoreFunction::apply(q, k, v, Sink{k_sink});
}

// The dot and context kernels pay off for one query per sentence (a decoder
// step), where bmm would be B tiny GEMMs; for more, bmm.
Tensor dot_scores(const Tensor& q, const Tensor& k, const Tensor& k_sink, const Tensor& rows) {
  TORCH_CHECK(q.dim() == 3 && k.dim() == 3 && q.size(2) == k.size(2), "dot_scores: sizes ", q.sizes(), " and ",
              k.sizes());
  if (!fused_kernels_for({&q, &k}) || q.size(1) != 1 || !batched_rows_supported(q, k, rows))
    return torch::bmm(q, by_rows(k, rows).transpose(1, 2));
  check_sink(k_sink, k);
  if (direct(rows, k))
    return by_type(q, [&](auto zero) {
      return rows_product<decltype(zero)>(false, q.contiguous(), k.contiguous(), rows);
    });
  return DotScoreFunction::apply(q, k, Sink{k_sink});
}

Tensor attention_context(const Tensor& w, const Tensor& x, const Tensor& x_sink, const Tensor& rows) {
  TORCH_CHECK(w.dim() == 3 && x.dim() == 3 && w.size(2) == x.size(1), "attention_context: sizes ", w.sizes(),
              " and ", x.sizes());
  if (!fused_kernels_for({&w, &x}) || w.size(1) != 1 || !batched_rows_supported(w, x, rows))
    return torch::bmm(w, by_rows(x, rows));
  check_sink(x_sink, x);
  if (direct(rows, x))
    return by_type(w, [&](auto zero) {
      return rows_product<decltype(zero)>(true, w.contiguous(), x.contiguous(), rows);
    });
  return ContextFunction::apply(w, x, Sink{x_sink});
}

std::pair<Tensor, Tensor> gradient_sink(const Tensor& x) {
  Tensor sink = torch::zeros_like(x, torch::MemoryFormat::Contiguous);
  return {SinkFunction::apply(x, Sink{sink}), sink};
}

}  // namespace attn
