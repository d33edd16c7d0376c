// RNNsearch decoder, faithful to Bahdanau, Cho & Bengio 2014:
//   e_ij = v^T tanh(W s_{i-1} + U h_j)     (query: the PREVIOUS state)
//   c_i  = sum_j a_ij h_j
//   s_i  = GRU([E y_{i-1}; c_i], s_{i-1})   (context goes INTO the recurrence)
//   s_0  = tanh(W_s h_1(backward))
//   p(y_i) = softmax(W_o g([s_i; E y_{i-1}; c_i]))   (deep output, g = tanh or maxout)
#pragma once
#include "config/config.h"
#include "model/recurrent_decoder.h"

namespace attn {

class BahdanauDecoderImpl : public RecurrentDecoderImpl {
 public:
  // shared: the encoder's embedding when tie_embeddings is "all", else nullptr.
  BahdanauDecoderImpl(const ModelConfig& c, int64_t vocab, const torch::nn::Embedding& shared = nullptr);
  std::pair<DecoderMemory, DecoderState> start(const EncoderOutput& enc) override;

  torch::nn::Linear init{nullptr}, readout_layer{nullptr};
  std::shared_ptr<AttentionImpl> attention;
  AttentionImpl* attention_module() const override { return attention.get(); }
  bool maxout, coverage;

 protected:
  bool feeds_back() const override { return true; }
  // c_i from attending with s_{i-1} (and the coverage so far).
  torch::Tensor cell_input(const DecoderMemory& mem, DecoderState& st, Steps& steps) override;
  torch::Tensor readout(const Steps& steps, const torch::Tensor& embs, const DecoderState& st) override;
};

}  // namespace attn
