// Luong, Pham & Manning 2015 decoder: GRU first, then attention with the
// CURRENT state h_t, attentional state h~_t = tanh(W_c [c_t; h_t]),
// p(y_t) = softmax(W_s h~_t). Input feeding passes h~_{t-1} into the next step.
// Without input feeding nothing feeds back, so teacher forcing runs the GRU
// over the whole target and attends for all steps in one batched call.
#pragma once
#include "config/config.h"
#include "model/decoder.h"

namespace attn {

class LuongDecoderImpl : public DecoderImpl {
 public:
  // shared: the encoder's embedding when tie_embeddings is "all", else nullptr.
  LuongDecoderImpl(const ModelConfig& c, int64_t vocab, const torch::nn::Embedding& shared = nullptr);
  std::pair<DecoderMemory, DecoderState> start(const EncoderOutput& enc) override;
  StepOutput step(const DecoderMemory& mem, DecoderState& state, const torch::Tensor& y_prev) override;
  DecoderOutput features(const EncoderOutput& enc, const torch::Tensor& tgt_in) override;
  torch::Tensor project(const torch::Tensor& f) override { return out(f); }

  torch::nn::Linear bridge{nullptr}, combine{nullptr};
  torch::nn::GRUCell cell{nullptr};
  torch::nn::Dropout drop{nullptr};
  std::shared_ptr<AttentionImpl> attention;
  bool input_feeding;

 private:
  // Attend with queries [B, T, D]; returns (h~ [B, T, D], weights [B, T, S]).
  std::pair<torch::Tensor, torch::Tensor> attend(const DecoderMemory& mem, const torch::Tensor& h,
                                                 const torch::Tensor& positions);
};

}  // namespace attn
