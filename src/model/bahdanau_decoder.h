// RNNsearch decoder, faithful to Bahdanau, Cho & Bengio 2014:
//   e_ij = v^T tanh(W s_{i-1} + U h_j)     (query: the PREVIOUS state)
//   c_i  = sum_j a_ij h_j
//   s_i  = GRU([E y_{i-1}; c_i], s_{i-1})   (context goes INTO the recurrence)
//   s_0  = tanh(W_s h_1(backward))
//   p(y_i) = softmax(W_o g([s_i; E y_{i-1}; c_i]))   (deep output, g = tanh or maxout)
#pragma once
#include "config/config.h"
#include "model/decoder.h"

namespace attn {

class BahdanauDecoderImpl : public DecoderImpl {
 public:
  // shared: the encoder's embedding when tie_embeddings is "all", else nullptr.
  BahdanauDecoderImpl(const ModelConfig& c, int64_t vocab, const torch::nn::Embedding& shared = nullptr);
  std::pair<DecoderMemory, DecoderState> start(const EncoderOutput& enc) override;
  StepOutput step(const DecoderMemory& mem, DecoderState& state, const torch::Tensor& y_prev) override;
  DecoderOutput features(const EncoderOutput& enc, const torch::Tensor& tgt_in) override;
  torch::Tensor project(const torch::Tensor& f) override { return out(f); }

  torch::nn::Linear init{nullptr}, readout{nullptr};
  torch::nn::GRUCell cell{nullptr};
  torch::nn::Dropout drop{nullptr};
  std::shared_ptr<AttentionImpl> attention;
  bool maxout, coverage;

 private:
  // Attention from the previous state (and coverage, step count);
  // returns (context, weights). The GRU update is the caller's.
  std::pair<torch::Tensor, torch::Tensor> attend(const DecoderMemory& mem, DecoderState& state);
};

}  // namespace attn
