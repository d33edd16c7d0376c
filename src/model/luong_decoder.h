// Luong, Pham & Manning 2015 decoder: GRU first, then attention with the
// CURRENT state h_t, attentional state h~_t = tanh(W_c [c_t; h_t]),
// p(y_t) = softmax(W_s h~_t). Input feeding passes h~_{t-1} into the next step.
// Without input feeding nothing feeds back, so teacher forcing runs the GRU
// over the whole target and attends for all steps in one batched call.
#pragma once
#include "config/config.h"
#include "model/recurrent_decoder.h"

namespace attn {

class LuongDecoderImpl : public RecurrentDecoderImpl {
 public:
  // shared: the encoder's embedding when tie_embeddings is "all", else nullptr.
  LuongDecoderImpl(const ModelConfig& c, int64_t vocab, const torch::nn::Embedding& shared = nullptr);
  std::pair<DecoderMemory, DecoderState> start(const EncoderOutput& enc) override;

  torch::nn::Linear bridge{nullptr}, combine{nullptr};
  std::shared_ptr<AttentionImpl> attention;
  AttentionImpl* attention_module() const override { return attention.get(); }
  bool input_feeding;

 protected:
  bool feeds_back() const override { return input_feeding; }
  torch::Tensor cell_input(const DecoderMemory& mem, DecoderState& st, Steps& steps) override;  // h~_{t-1}
  // Attention with h_t and the attentional state h~_t, for one step or all.
  void after_cell(const DecoderMemory& mem, DecoderState& st, const torch::Tensor& h, Steps& steps) override;
  torch::Tensor readout(const Steps& steps, const torch::Tensor& embs, const DecoderState& st) override;
};

}  // namespace attn
