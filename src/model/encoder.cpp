#include "model/encoder.h"

#include "data/vocab.h"
#include "ops/gru_layer.h"

namespace attn {

namespace nn = torch::nn;
using torch::Tensor;

EncoderImpl::EncoderImpl(int64_t vocab, int64_t emb, int64_t hidden_, int64_t layers, double dropout)
    : hidden(hidden_) {
  embed = register_module("embed", nn::Embedding(nn::EmbeddingOptions(vocab, emb).padding_idx(Vocab::kPad)));
  for (int64_t l = 0; l < layers; ++l) {
    int64_t in = l == 0 ? emb : 2 * hidden;
    fwd.push_back(register_module("fwd" + std::to_string(l), nn::GRU(nn::GRUOptions(in, hidden).batch_first(true))));
    bwd.push_back(register_module("bwd" + std::to_string(l), nn::GRU(nn::GRUOptions(in, hidden).batch_first(true))));
  }
  drop = register_module("drop", nn::Dropout(dropout));
}

EncoderOutput EncoderImpl::forward(const Tensor& src, const Tensor& src_len) {
  const int64_t B = src.size(0), S = src.size(1);
  Tensor pos = torch::arange(S, src_len.options()).unsqueeze(0);  // [1, S]
  Tensor len = src_len.unsqueeze(1);                              // [B, 1]
  Tensor mask = pos < len;                                        // [B, S]
  // Position s of the reversed sentence reads position len-1-s; padding stays put.
  Tensor rev = torch::where(mask, len - 1 - pos, pos.expand({B, S}));
  auto reverse = [&](const Tensor& x) { return x.gather(1, rev.unsqueeze(-1).expand({B, S, x.size(2)})); };

  Tensor x = drop(embed(src));  // [B, S, E]
  Tensor h0 = torch::zeros({B, hidden}, x.options());
  auto run = [&](const torch::nn::GRU& gru, const Tensor& in) {
    auto w = gru->all_weights();  // w_ih, w_hh, b_ih, b_hh
    return gru_layer(in, src_len, h0, w[0], w[1], w[2], w[3]);
  };
  GruLayerOutput f, b;
  for (size_t l = 0; l < fwd.size(); ++l) {
    if (l > 0) x = drop(x);
    f = run(fwd[l], x);
    b = run(bwd[l], reverse(x));
    x = torch::cat({f.outputs, reverse(b.outputs)}, 2);  // [B, S, 2H], zero on padding
  }
  EncoderOutput o;
  o.mask = mask;
  o.src_len = src_len;
  o.states = x;
  o.last_fwd = f.last;
  o.first_bwd = b.last;
  return o;
}

}  // namespace attn
