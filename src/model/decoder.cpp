#include "model/decoder.h"

#include <tuple>
#include <utility>

#include "data/vocab.h"

namespace attn {

using torch::Tensor;

// A field rows() does not list would be kept unreordered by beam search: a
// silently wrong hypothesis. Counting the fields makes that a build error.
static_assert(sizeof(DecoderState) == std::tuple_size_v<decltype(std::declval<DecoderState&>().rows())> *
                                              sizeof(Tensor) + sizeof(int64_t),
              "DecoderState has a field that rows() does not list");

DecoderState DecoderState::index_select(const Tensor& idx) const {
  DecoderState out = *this;
  std::apply([&](auto&... t) { ((t = select_rows(t, idx)), ...); }, out.rows());
  return out;
}

DecoderMemory DecoderMemory::index_select(const Tensor& idx) const {
  return {attention.index_select(idx)};
}

DecoderOutput DecoderImpl::forward(const EncoderOutput& enc, const Tensor& tgt_in) {
  DecoderOutput o = features(enc, tgt_in);
  o.logits = project(o.features);
  o.features = Tensor();
  return o;
}

torch::nn::Embedding DecoderImpl::make_embedding(int64_t vocab, int64_t E, const torch::nn::Embedding& shared) {
  if (shared) return shared;  // not registered here: the encoder owns it, so it is saved and updated once
  return register_module("embed", torch::nn::Embedding(torch::nn::EmbeddingOptions(vocab, E).padding_idx(Vocab::kPad)));
}

torch::nn::Linear DecoderImpl::make_output(int64_t in, int64_t vocab, bool tied) {
  torch::nn::Linear layer(in, vocab);
  if (!tied) return register_module("out", layer);
  TORCH_CHECK(embed && embed->weight.size(1) == in, "tied output layer: features ", in, " != embedding size");
  // The layer is not registered, so its own weight is no parameter; forward
  // and the fused decode path both read layer->weight, now the embedding.
  layer->weight = embed->weight;
  layer->bias = register_parameter("out_bias", layer->bias);
  return layer;
}

Tensor deep_output(const Tensor& t, bool maxout) {
  if (!maxout) return torch::tanh(t);
  auto sizes = t.sizes().vec();
  sizes.back() /= 2;
  sizes.push_back(2);
  return std::get<0>(t.view(sizes).max(-1));
}

}  // namespace attn
