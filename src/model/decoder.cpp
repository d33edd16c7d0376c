#include "model/decoder.h"

#include "data/vocab.h"
#include "ops/gru_layer.h"
#include "ops/row_linear.h"

namespace attn {

using torch::Tensor;

DecoderState DecoderState::index_select(const Tensor& idx) const {
  return {select_rows(hidden, idx), select_rows(feed, idx), select_rows(coverage, idx), step, select_rows(fixed, idx)};
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

DecoderOutput DecoderImpl::features(const EncoderOutput& enc, const Tensor& tgt_in) {
  auto [mem, state] = start(enc);
  std::vector<Tensor> logits, attn;
  for (int64_t t = 0; t < tgt_in.size(1); ++t) {
    StepOutput o = step(mem, state, tgt_in.select(1, t));
    logits.push_back(o.logits);
    if (o.attention.defined()) attn.push_back(o.attention);
  }
  DecoderOutput out;
  out.features = torch::stack(logits, 1);
  if (!attn.empty()) out.attention = torch::stack(attn, 1);
  return out;
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

namespace {
Tensor input_part(const Tensor& w_ih, int64_t from, int64_t size) { return w_ih.narrow(1, from, size); }
}  // namespace

TeacherForcedCell::TeacherForcedCell(const torch::nn::GRUCell& cell, const Tensor& embs)
    : from_x_(input_part(cell->weight_ih, embs.size(2), cell->weight_ih.size(1) - embs.size(2))),
      from_state_(cell->weight_hh),
      bias_hh_(cell->bias_hh) {
  from_emb_ = torch::linear(embs, input_part(cell->weight_ih, 0, embs.size(2)), cell->bias_ih).unbind(1);
}

Tensor TeacherForcedCell::step(int64_t t, const Tensor& x, const Tensor& h) const {
  return gru_update(from_x_(x, from_emb_[static_cast<size_t>(t)]), from_state_(h, bias_hh_), h);
}

Tensor deep_output(const Tensor& t, bool maxout) {
  if (!maxout) return torch::tanh(t);
  auto sizes = t.sizes().vec();
  sizes.back() /= 2;
  sizes.push_back(2);
  return std::get<0>(t.view(sizes).max(-1));
}

Tensor cell_step(const torch::nn::GRUCell& cell, const Tensor& x, const Tensor& h) {
  return gru_step(row_linear(x, cell->weight_ih, cell->bias_ih), h, cell->weight_hh, cell->bias_hh);
}

}  // namespace attn
