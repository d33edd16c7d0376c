#include "model/bahdanau_decoder.h"

#include "ops/row_linear.h"

namespace attn {

namespace nn = torch::nn;
using torch::Tensor;

BahdanauDecoderImpl::BahdanauDecoderImpl(const ModelConfig& c, int64_t vocab, const nn::Embedding& shared)
    : maxout(c.maxout), coverage(c.attention.coverage) {
  int64_t E = c.emb, H = c.hidden, K = 2 * c.hidden, D = c.dec_hidden;
  int64_t R = c.readout > 0 ? c.readout : c.emb;
  embed = make_embedding(vocab, E, shared);
  init = register_module("init", nn::Linear(H, D));
  attention = register_module("attention", make_attention(c.attention, D, K, D));
  cell = register_module("cell", nn::GRUCell(E + K, D));
  readout_layer = register_module("readout", nn::Linear(D + E + K, maxout ? 2 * R : R));
  out = make_output(R, vocab, c.tie_embeddings != "none");
  drop = register_module("drop", nn::Dropout(c.dropout));
}

std::pair<DecoderMemory, DecoderState> BahdanauDecoderImpl::start(const EncoderOutput& enc) {
  DecoderMemory mem;
  mem.attention = attention->memory(enc.states, enc.mask, enc.src_len);  // U h_j, once
  DecoderState st;
  st.hidden = torch::tanh(init(enc.first_bwd));
  if (coverage) st.coverage = torch::zeros({enc.states.size(0), enc.states.size(1)}, enc.states.options());
  return {mem, st};
}

Tensor BahdanauDecoderImpl::cell_input(const DecoderMemory& mem, DecoderState& st, Steps& steps) {
  Tensor pos = attention->uses_positions() ? torch::full({1}, st.step, torch::kLong) : Tensor();
  auto a = attention->forward(st.hidden.unsqueeze(1), mem.attention, pos, st.coverage);  // [B, 1, *]
  if (st.coverage.defined()) st.coverage = st.coverage + a.weights.squeeze(1);
  steps.context.push_back(a.context);
  steps.weights.push_back(a.weights);
  return a.context.squeeze(1);  // c: [B, 2H]
}

Tensor BahdanauDecoderImpl::readout(const Steps& steps, const Tensor& embs, const DecoderState&) {
  Tensor in = torch::cat({over_steps(steps.hidden), embs, over_steps(steps.context)}, 2);  // [s; E y; c]
  return drop(deep_output(apply_linear(readout_layer, in), maxout));
}

}  // namespace attn
