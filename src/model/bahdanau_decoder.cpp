#include "model/bahdanau_decoder.h"

#include "data/vocab.h"
#include "ops/gru_layer.h"
#include "ops/row_linear.h"
#include "ops/step_linear.h"

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
  readout = register_module("readout", nn::Linear(D + E + K, maxout ? 2 * R : R));
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

std::pair<Tensor, Tensor> BahdanauDecoderImpl::attend(const DecoderMemory& mem, DecoderState& st) {
  Tensor pos = attention->uses_positions() ? torch::full({1}, st.step, torch::kLong) : Tensor();
  auto a = attention->forward(st.hidden.unsqueeze(1), mem.attention, pos, st.coverage);
  Tensor w = a.weights.squeeze(1);  // [B, S]
  if (st.coverage.defined()) st.coverage = st.coverage + w;
  ++st.step;
  return {a.context.squeeze(1), w};  // c: [B, 2H]
}

StepOutput BahdanauDecoderImpl::step(const DecoderMemory& mem, DecoderState& st, const Tensor& y_prev) {
  Tensor e = drop(embed(y_prev));  // [B, E]
  auto [c, w] = attend(mem, st);
  st.hidden = cell_step(cell, torch::cat({e, c}, 1), st.hidden);
  Tensor t = deep_output(apply_linear(readout, torch::cat({st.hidden, e, c}, 1)), maxout);
  return {apply_linear(out, drop(t)), w};
}

DecoderOutput BahdanauDecoderImpl::features(const EncoderOutput& enc, const Tensor& tgt_in) {
  auto [mem, st] = start(enc);
  Tensor embs = drop(embed(tgt_in));  // [B, T, E], all steps at once
  const int64_t T = tgt_in.size(1);
  std::vector<Tensor> hs, cs, ws;
  hs.reserve(T), cs.reserve(T), ws.reserve(T);
  TeacherForcedCell gru(cell, embs);  // the cell's input is [E y; c]
  for (int64_t t = 0; t < T; ++t) {
    auto [c, w] = attend(mem, st);
    st.hidden = gru.step(t, c, st.hidden);
    hs.push_back(st.hidden);
    cs.push_back(c);
    ws.push_back(w);
  }
  // The output layers don't feed back: run them once over all steps.
  Tensor t = deep_output(readout(torch::cat({torch::stack(hs, 1), embs, torch::stack(cs, 1)}, 2)), maxout);
  return {Tensor(), drop(t), torch::stack(ws, 1)};
}

}  // namespace attn
