// What the fused CPU kernels share: the multiversioning attribute, a fast,
// branch-free tanh (and the sigmoid built from it), and the dispatch from a
// tensor's type to the float or double instance of a kernel template.
#pragma once
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

// The float kernels are compiled for AVX-512, AVX2 and the baseline, and the
// loader picks one for the CPU it runs on (GCC and clang function
// multiversioning); the build itself stays portable.
#if defined(__x86_64__) && defined(__linux__)
#define ATTN_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ATTN_CPU_CLONES
#endif
#define ATTN_INLINE __attribute__((always_inline)) inline

namespace attn {

// tanh(x) = sign(x) (1 - e) / (1 + e) with e = exp(-2|x|), |x| clamped to 9
// (tanh 9 rounds to 1 in float). exp(y) = 2^n exp(r), n = round(y / ln 2),
// |r| <= ln2 / 2, exp(r) by its Taylor series to degree 7 (error < 1e-8).
// Branch-free, so the loops that call it vectorise.
ATTN_INLINE float tanh_kernel(float x) {
  float ax = std::fabs(x);
  ax = ax < 9.0f ? ax : 9.0f;
  float y = -2.0f * ax;
  const float round_magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  float n = (y * 1.44269504f + round_magic) - round_magic;
  float r = (y - n * 0.693359375f) - n * -2.12194440e-4f;  // ln 2 in two parts
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n, n in [-26, 0]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  float e = p * scale;
  return std::copysign((1.0f - e) / (1.0f + e), x);
}

ATTN_INLINE double tanh_kernel(double x) { return std::tanh(x); }

// sigmoid(x) = (1 + tanh(x / 2)) / 2: exact, and as cheap as the tanh.
template <typename T>
ATTN_INLINE T sigmoid_kernel(T x) {
  return T(0.5) + T(0.5) * tanh_kernel(T(0.5) * x);
}

template <typename T>
constexpr bool kFloat = std::is_same_v<T, float>;

// f(T{}) with T the tensor's element type (float or double).
template <typename F>
auto by_type(const torch::Tensor& t, F&& f) {
  return t.scalar_type() == torch::kDouble ? f(double{}) : f(float{});
}

}  // namespace attn
