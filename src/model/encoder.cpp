#include "model/encoder.h"

#include "data/vocab.h"

namespace attn {

namespace nn = torch::nn;
using torch::Tensor;

EncoderImpl::EncoderImpl(int64_t vocab, int64_t emb, int64_t hidden_, int64_t layers, double dropout)
    : hidden(hidden_) {
  embed = register_module("embed", nn::Embedding(nn::EmbeddingOptions(vocab, emb).padding_idx(Vocab::kPad)));
  rnn = register_module("rnn", nn::GRU(nn::GRUOptions(emb, hidden)
                                           .num_layers(layers)
                                           .bidirectional(true)
                                           .batch_first(true)
                                           .dropout(layers > 1 ? dropout : 0.0)));
  drop = register_module("drop", nn::Dropout(dropout));
}

EncoderOutput EncoderImpl::forward(const Tensor& src, const Tensor& src_len) {
  Tensor x = drop(embed(src));  // [B, S, E]
  auto packed = nn::utils::rnn::pack_padded_sequence(x, src_len.to(torch::kCPU), /*batch_first=*/true,
                                                     /*enforce_sorted=*/false);
  auto [out_packed, h_n] = rnn->forward_with_packed_input(packed);
  Tensor states = std::get<0>(nn::utils::rnn::pad_packed_sequence(out_packed, /*batch_first=*/true, 0.0,
                                                                  src.size(1)));
  int64_t L = h_n.size(0);  // 2 * layers: ..., last fwd, last bwd
  EncoderOutput o;
  o.states = states;
  o.last_fwd = h_n[L - 2];
  o.first_bwd = h_n[L - 1];
  o.src_len = src_len;
  o.mask = torch::arange(src.size(1), src_len.options()).unsqueeze(0) < src_len.unsqueeze(1);
  return o;
}

}  // namespace attn
