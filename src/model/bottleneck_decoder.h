// Fixed-bottleneck RNN encoder-decoder (Cho et al. 2014): the source is
// squeezed into one vector c = tanh(V [h_N(fwd); h_1(bwd)]); the decoder
// starts from tanh(V' c) and sees c at every step; no attention. c never
// changes, so teacher forcing runs the GRU over the whole target at once,
// and its shares of the cell input and the readout are computed once.
#pragma once
#include "config/config.h"
#include "model/recurrent_decoder.h"

namespace attn {

class BottleneckDecoderImpl : public RecurrentDecoderImpl {
 public:
  // shared: the encoder's embedding when tie_embeddings is "all", else nullptr.
  BottleneckDecoderImpl(const ModelConfig& c, int64_t vocab, const torch::nn::Embedding& shared = nullptr);
  std::pair<DecoderMemory, DecoderState> start(const EncoderOutput& enc) override;
  bool has_attention() const override { return false; }

  torch::nn::Linear summary{nullptr}, init{nullptr}, readout_layer{nullptr};
  bool maxout;

 protected:
  bool feeds_back() const override { return false; }
  torch::Tensor fixed_input(const DecoderState& st) const override { return st.feed; }  // c
  torch::Tensor cell_bias(const DecoderState& st) const override;
  torch::Tensor readout(const Steps& steps, const torch::Tensor& embs, const DecoderState& st) override;
};

}  // namespace attn
