#include "ops/row_linear.h"

#include "ops/kernel_math.h"
#include "ops/kernels.h"

namespace attn {

using torch::Tensor;

namespace {

// out[r, j] = base(r, j) + sum_k x[r, k] w[j, k]; base_stride 0 for a bias.
template <typename T>
ATTN_INLINE void dot_rows(const T* __restrict x, int64_t x_stride, const T* __restrict w, int64_t w_stride,
                          const T* __restrict base, int64_t base_stride, T* __restrict out, int64_t n, int64_t N,
                          int64_t K) {
  for (int64_t j = 0; j < N; ++j) {
    const T* wj = w + j * w_stride;
    for (int64_t r = 0; r < n; ++r) {
      const T* xr = x + r * x_stride;
      T acc = 0;
      {
#ifdef __clang__
#pragma clang fp reassociate(on)  // lets the sum over k vectorise
#endif
        for (int64_t k = 0; k < K; ++k) acc += xr[k] * wj[k];
      }
      out[r * N + j] = (base ? base[r * base_stride + j] : T(0)) + acc;
    }
  }
}

ATTN_CPU_CLONES void dot_rows_f(const float* x, int64_t xs, const float* w, int64_t ws, const float* base, int64_t bs,
                                float* out, int64_t n, int64_t N, int64_t K) {
  dot_rows(x, xs, w, ws, base, bs, out, n, N, K);
}

bool unit_inner(const Tensor& t) { return t.stride(t.dim() - 1) == 1; }

}  // namespace

bool row_linear_fused(const Tensor& x, const Tensor& w, const Tensor& base) {
  if (torch::GradMode::is_enabled() || !fused_kernels_for({&x, &w, &base})) return false;
  if (x.dim() != 2 || w.dim() != 2 || x.size(0) > kRowLinearMaxRows) return false;
  if (!unit_inner(x) || !unit_inner(w) || x.size(1) != w.size(1)) return false;
  if (!base.defined()) return true;
  if (!unit_inner(base)) return false;
  if (base.dim() == 1) return base.size(0) == w.size(0);
  return base.dim() == 2 && base.size(0) == x.size(0) && base.size(1) == w.size(0);
}

void row_linear_into(const Tensor& x, const Tensor& w, const Tensor& base, const Tensor& out) {
  const int64_t n = x.size(0), N = w.size(0), K = w.size(1);
  const int64_t bs = base.defined() && base.dim() == 2 ? base.stride(0) : 0;
  by_type(x, [&](auto zero) {
    using E = decltype(zero);
    const E* b = base.defined() ? base.data_ptr<E>() : nullptr;
    if constexpr (kFloat<E>)
      dot_rows_f(x.data_ptr<E>(), x.stride(0), w.data_ptr<E>(), w.stride(0), b, bs, out.data_ptr<E>(), n, N, K);
    else
      dot_rows(x.data_ptr<E>(), x.stride(0), w.data_ptr<E>(), w.stride(0), b, bs, out.data_ptr<E>(), n, N, K);
  });
}

Tensor row_linear(const Tensor& x, const Tensor& w, const Tensor& base) {
  if (!row_linear_fused(x, w, base)) return base.defined() ? torch::addmm(base, x, w.t()) : torch::mm(x, w.t());
  Tensor out = torch::empty({x.size(0), w.size(0)}, x.options());
  row_linear_into(x, w, base, out);
  return out;
}

Tensor apply_linear(const torch::nn::Linear& layer, const Tensor& x) {
  const int64_t K = x.size(-1), rows = K > 0 ? x.numel() / K : 0;
  if (rows > kRowLinearMaxRows || torch::GradMode::is_enabled()) return torch::linear(x, layer->weight, layer->bias);
  Tensor x2 = x.reshape({rows, K});
  const Tensor& b = layer->bias;
  if (!row_linear_fused(x2, layer->weight, b)) return torch::linear(x, layer->weight, layer->bias);
  auto sizes = x.sizes().vec();
  sizes.back() = layer->weight.size(0);
  return row_linear(x2, layer->weight, b).view(sizes);
}

}  // namespace attn
