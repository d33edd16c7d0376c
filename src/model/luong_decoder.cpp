#include "model/luong_decoder.h"

#include "data/vocab.h"
#include "ops/gru_layer.h"
#include "ops/row_linear.h"
#include "ops/step_linear.h"

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

std::pair<Tensor, Tensor> LuongDecoderImpl::attend(const DecoderMemory& mem, const Tensor& h, const Tensor& pos) {
  auto a = attention->forward(h, mem.attention, pos);
  return {torch::tanh(apply_linear(combine, torch::cat({a.context, h}, 2))), a.weights};
}

StepOutput LuongDecoderImpl::step(const DecoderMemory& mem, DecoderState& st, const Tensor& y_prev) {
  Tensor e = drop(embed(y_prev));
  Tensor x = input_feeding ? torch::cat({e, st.feed}, 1) : e;
  st.hidden = cell_step(cell, x, st.hidden);
  Tensor pos = attention->uses_positions() ? torch::full({1}, st.step, torch::kLong) : Tensor();
  auto [ht, w] = attend(mem, st.hidden.unsqueeze(1), pos);
  ht = ht.squeeze(1);
  if (input_feeding) st.feed = ht;
  ++st.step;
  return {apply_linear(out, drop(ht)), w.squeeze(1)};
}

DecoderOutput LuongDecoderImpl::features(const EncoderOutput& enc, const Tensor& tgt_in) {
  if (input_feeding) {
    // h~_{t-1} feeds step t: sequential, but the output layer runs once.
    auto [mem, st] = start(enc);
    Tensor embs = drop(embed(tgt_in));
    TeacherForcedCell gru(cell, embs);  // the cell's input is [E y; h~]
    StepLinear combined(combine->weight);
    std::vector<Tensor> hts, ws;
    for (int64_t t = 0; t < tgt_in.size(1); ++t) {
      st.hidden = gru.step(t, st.feed, st.hidden);
      Tensor pos = attention->uses_positions() ? torch::full({1}, t, torch::kLong) : Tensor();
      auto a = attention->forward(st.hidden.unsqueeze(1), mem.attention, pos);
      st.feed = torch::tanh(combined(torch::cat({a.context.squeeze(1), st.hidden}, 1)));
      hts.push_back(st.feed);
      ws.push_back(a.weights.squeeze(1));
    }
    return {Tensor(), drop(torch::stack(hts, 1)), torch::stack(ws, 1)};
  }
  auto [mem, st] = start(enc);
  Tensor embs = drop(embed(tgt_in));
  // The cell's own weights, run by the fused sequence GRU over all steps
  // (not on padding: those steps are never scored).
  Tensor h = gru_layer(embs, tgt_in.ne(Vocab::kPad).sum(1), st.hidden, cell->weight_ih, cell->weight_hh,
                       cell->bias_ih, cell->bias_hh)
                 .outputs;  // [B, T, D]
  auto [ht, w] = attend(mem, h, torch::arange(tgt_in.size(1), torch::kLong));
  return {Tensor(), drop(ht), w};
}

}  // namespace attn
