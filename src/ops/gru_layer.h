// One direction of a GRU over a padded batch whose rows have their own
// lengths, run as ONE autograd node (what cuDNN does on a GPU).
//
// Why: ATen's GRU on the CPU records a dozen ops per time step, and its
// backward computes each step's weight gradient as its own small GEMM (inner
// size = the batch) plus a sum; over padding it also computes steps nobody
// reads. Here the rows are ordered longest first and packed by time step,
// so step t works on the n_t rows still running and nothing runs on padding;
// the input projection is one GEMM over all real tokens; a step is one GEMM
// (h W_hh^T) and one fused loop for the gates; backward is one loop and one
// GEMM per step, then dW_ih, dW_hh and dx are one GEMM each over all steps.
// CPU, float or double; elsewhere ATen's GRU gives the same results.
#pragma once
#include <torch/torch.h>

namespace attn {

struct GruLayerOutput {
  torch::Tensor outputs;  // [B, T, H]: the state after each real token; zero on padding
  torch::Tensor last;     // [B, H]: the state after each row's last real token (h0 if it has none)
};

// x [B, T, I]; lengths [B] (CPU, long, each <= T); h0 [B, H]; the weights
// and biases as in torch::nn::GRU (gates r, z, n). Differentiable in x, h0
// and the weights.
GruLayerOutput gru_layer(const torch::Tensor& x, const torch::Tensor& lengths, const torch::Tensor& h0,
                         const torch::Tensor& w_ih, const torch::Tensor& w_hh, const torch::Tensor& b_ih,
                         const torch::Tensor& b_hh);

// One GRU update from the input and hidden projections (gates r, z, n in
// PyTorch's order, biases included): h' = (1 - z) n + z h. ATen ops,
// differentiable, any device.
torch::Tensor gru_update(const torch::Tensor& gi, const torch::Tensor& gh, const torch::Tensor& h);

// One step for all rows: gi [B, 3H] (the input projection, b_ih included),
// h [B, H] -> h'. Without grad mode on the CPU: one GEMM and the fused gate
// loop (decoding); otherwise differentiable ATen ops.
torch::Tensor gru_step(const torch::Tensor& gi, const torch::Tensor& h, const torch::Tensor& w_hh,
                       const torch::Tensor& b_hh);

// The same with ATen's GRU (any device): the reference for the fused path.
GruLayerOutput gru_layer_aten(const torch::Tensor& x, const torch::Tensor& lengths, const torch::Tensor& h0,
                              const torch::Tensor& w_ih, const torch::Tensor& w_hh, const torch::Tensor& b_ih,
                              const torch::Tensor& b_hh);

}  // namespace attn
