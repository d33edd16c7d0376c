// Fixed-bottleneck RNN encoder-decoder (Cho et al. 2014): the source is
// squeezed into one vector c = tanh(V [h_N(fwd); h_1(bwd)]); the decoder
// starts from tanh(V' c) and sees c at every step; no attention. c never
// changes, so teacher forcing runs the GRU over the whole target at once.
#pragma once
#include "config/config.h"
#include "model/decoder.h"

namespace attn {

class BottleneckDecoderImpl : public DecoderImpl {
 public:
  // shared: the encoder's embedding when tie_embeddings is "all", else nullptr.
  BottleneckDecoderImpl(const ModelConfig& c, int64_t vocab, const torch::nn::Embedding& shared = nullptr);
  std::pair<DecoderMemory, DecoderState> start(const EncoderOutput& enc) override;
  StepOutput step(const DecoderMemory& mem, DecoderState& state, const torch::Tensor& y_prev) override;
  DecoderOutput features(const EncoderOutput& enc, const torch::Tensor& tgt_in) override;
  torch::Tensor project(const torch::Tensor& f) override { return out(f); }
  bool has_attention() const override { return false; }

  torch::nn::Linear summary{nullptr}, init{nullptr}, readout{nullptr};
  torch::nn::GRUCell cell{nullptr};
  torch::nn::Dropout drop{nullptr};
  bool maxout;
};

}  // namespace attn
