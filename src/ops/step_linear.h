// A linear map applied at every decoder step with the same weight, whose
// weight gradient is computed once per batch.
//
// Why: with plain autograd each step's backward computes its own dW = dy^T x
// (a GEMM whose inner size is the batch, 64: slow) and then adds it to the
// running sum (a full pass over W). StepLinear records each step's x and dy
// instead, and when autograd reaches the weight it computes
// dW = [dy_1; ...; dy_T]^T [x_1; ...; x_T] in one GEMM over all steps (what
// cuDNN's RNNs do). Without grad mode it is a plain addmm.
#pragma once
#include <torch/torch.h>

namespace attn {

class StepLinear {
 public:
  // weight [out, in] (may be a view of a larger parameter).
  explicit StepLinear(const torch::Tensor& weight);
  // base + x W^T; x [B, in]; base [B, out], [out] (a bias) or undefined
  // (none); differentiable in x and base.
  torch::Tensor operator()(const torch::Tensor& x, const torch::Tensor& base = {}) const;

 private:
  torch::Tensor weight_;                 // what the steps read (a gated copy when deferred)
  torch::Tensor zero_;                   // the base of a map without bias
  c10::List<torch::Tensor> xs_, dys_;    // filled during backward; shared with the gate
  bool deferred_ = false;
};

}  // namespace attn
