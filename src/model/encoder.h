// Bidirectional multi-layer GRU encoder. Padding never changes a result:
// the forward GRU reads each sentence from its start, the backward GRU reads
// each sentence reversed within its own length, and both stop at its end
// (gru_layer: nothing runs on padding, states there are zero). The nn::GRU
// modules hold the weights (and their checkpoint names); ATen's packed
// sequences are not used: their backward zero-fills the whole packed input
// once per time step.
#pragma once
#include <torch/torch.h>

namespace attn {

struct EncoderOutput {
  torch::Tensor states;     // [B, S, 2H]: forward and backward states, zero on padding
  torch::Tensor last_fwd;   // [B, H]: forward state after the last real token
  torch::Tensor first_bwd;  // [B, H]: backward state after reading back to token 1
  torch::Tensor mask;       // [B, S] bool
  torch::Tensor src_len;    // [B] long
};

class EncoderImpl : public torch::nn::Module {
 public:
  EncoderImpl(int64_t vocab, int64_t emb, int64_t hidden, int64_t layers, double dropout);
  EncoderOutput forward(const torch::Tensor& src, const torch::Tensor& src_len);
  int64_t hidden;
  torch::nn::Embedding embed{nullptr};
  std::vector<torch::nn::GRU> fwd, bwd;  // one unidirectional GRU per layer and direction
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(Encoder);

}  // namespace attn
