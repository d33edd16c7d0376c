#include "model/decoder.h"

#include "model/gru_layer.h"
#include "model/row_linear.h"

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
