// y = base + x W^T for a few rows, without BLAS.
//
// Why: BLAS copies ("packs") W into its own layout at every call; for one
// row (batch-1 decoding) that copy costs about as much as the product. For
// one row, on the CPU, without grad mode, this is a loop of dot products over
// W's rows instead (measured against addmm with BLIS here: 1.2-1.7x faster
// for one row, level at two, slower from three); anything else is addmm.
#pragma once
#include <torch/torch.h>

namespace attn {

constexpr int64_t kRowLinearMaxRows = 1;

// x [n, K]; w [N, K] (rows may be strided, e.g. a column slice of a
// parameter); base [N] (a bias), [n, N] or undefined.
torch::Tensor row_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& base = {});

// layer(x) for x [..., K], through row_linear's loop when x has at most
// kRowLinearMaxRows rows (decoding one sentence).
torch::Tensor apply_linear(const torch::nn::Linear& layer, const torch::Tensor& x);

// Whether row_linear runs its own loop for these inputs.
bool row_linear_fused(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& base);

// The loop itself into out [n, N] (contiguous): for callers with their own buffer.
void row_linear_into(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& base,
                     const torch::Tensor& out);

}  // namespace attn
