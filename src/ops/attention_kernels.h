// Fused CPU kernels for the per-step attention ops, each an autograd
// function like any other op:
//   additive_scores:   e[b,t,s] = sum_a v[a] tanh(q[b,t,a] + k[b,s,a])
//   dot_scores:        e[b,t,s] = q[b,t,:] . k[b,s,:]
//   attention_context: c[b,t,:] = sum_s w[b,t,s] x[b,s,:]
// Why: a decoder step has one query per sentence, so with ATen ops these are
// [B,1,S]-sized bmm calls (B tiny GEMMs) and, for the additive score, two
// [B,T,S,A] temporaries and ATen's accurate tanh, which were most of a small
// Bahdanau step. Here each is one pass; the additive score uses a cheaper tanh
// (|error| < 1e-6) and recomputes it in backward instead of storing
// [B,T,S,A]; positions with weight or gradient exactly 0 (padding, after
// the -inf mask) are skipped where that is exact.
// Each call runs its kernel where it applies (ops/kernels.h: the process's
// choice, CPU, float or double; one query per sentence for dot and context)
// and otherwise the ATen formulation, which runs on any device.
//
// Gradient sinks: in training every step reads the same encoder-side k / x,
// and autograd would sum one fresh [B, S, D] gradient per step into them.
// Given a sink (from gradient_sink), a kernel adds its gradient for k / x
// straight into it instead, and the sink's node hands the total to autograd
// once, after the last step.
#pragma once
#include <torch/torch.h>

namespace attn {

// Row maps (decoding only, without grad mode): given rows [B] (CPU, long),
// row b of the queries / weights reads row rows[b] of k / x, so a search can
// drop and reorder sentences without copying the encoder side.

// q [B, T, A], k [B, S, A], v [A] -> [B, T, S].
torch::Tensor additive_scores(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& k_sink = {}, const torch::Tensor& rows = {});
// q [B, T, D], k [B, S, D] -> [B, T, S].
torch::Tensor dot_scores(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& k_sink = {},
                         const torch::Tensor& rows = {});
// w [B, T, S], x [B, S, D] -> [B, T, D].
torch::Tensor attention_context(const torch::Tensor& w, const torch::Tensor& x, const torch::Tensor& x_sink = {},
                                const torch::Tensor& rows = {});

// (x', sink): x' equals x and is what the steps must read; sink is a zeroed
// buffer of x's shape to pass to the kernels along with x'.
std::pair<torch::Tensor, torch::Tensor> gradient_sink(const torch::Tensor& x);

// Whether the kernels take these inputs (shapes, types, device).
bool additive_scores_supported(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& rows = {});
// For dot_scores(a, b) and attention_context(a, b): [B, *, *] x [B, *, *].
bool batched_rows_supported(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& rows = {});

// The tanh used for float (exposed for its accuracy test).
float fast_tanh(float x);

}  // namespace attn
