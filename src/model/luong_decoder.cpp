#include "model/luong_decoder.h"

namespace attn {

namespace nn = torch::nn;
using torch::Tensor;

LuongDecoderImpl::LuongDecoderImpl(const ModelConfig& c, int64_t vocab, const nn::Embedding& shared) : input_feeding(c.input_feeding) {
  int64_t E = c.emb, K = 2 * c.hidden, D = c.dec_hidden;
  embed = make_embedding(vocab, E, shared);
  bridge = register_module("bridge", nn::Linear(K, D));
  cell = register_module("cell", nn::GRUCell(E + (input_feeding ? D : 0), D));
  attention = register_module("attention", make_attention(c.attention, D, K, D));
  combine = register_module("combine", nn::Linear(nn::LinearOptions(K + D, D).bias(false)));
  out = make_output(D, vocab, c.tie_embeddings != "none");
  drop = register_module("drop", nn::Dropout(c.dropout));
}

std::pair<DecoderMemory, DecoderState> LuongDecoderImpl::start(const EncoderOutput& enc) {
  DecoderMemory mem;
  mem.attention = attention->memory(enc.states, enc.mask, enc.src_len);
  DecoderState st;
  st.hidden = torch::tanh(bridge(torch::cat({enc.last_fwd, enc.first_bwd}, 1)));
  if (input_feeding) st.feed = torch::zeros_like(st.hidden);
  return {mem, st};
}

Tensor LuongDecoderImpl::cell_input(const DecoderMemory&, DecoderState& st, Steps&) {
  return input_feeding ? st.feed : Tensor();
}

void LuongDecoderImpl::after_cell(const DecoderMemory& mem, DecoderState& st, const Tensor& h, Steps& steps) {
  Tensor pos = attention->uses_positions() ? torch::arange(st.step, st.step + h.size(1), torch::kLong) : Tensor();
  auto a = attention->forward(h, mem.attention, pos);
  Tensor ht = torch::tanh(steps.linear(combine, torch::cat({a.context, h}, 2)));  // [B, T, D]
  if (input_feeding) st.feed = ht.squeeze(1);
  steps.attentional.push_back(ht);
  steps.weights.push_back(a.weights);
}

Tensor LuongDecoderImpl::readout(const Steps& steps, const Tensor&, const DecoderState&) {
  return drop(over_steps(steps.attentional));
}

}  // namespace attn
