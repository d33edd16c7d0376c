#include "model/bottleneck_decoder.h"

#include "data/vocab.h"
#include "ops/gru_layer.h"
#include "ops/row_linear.h"

namespace attn {

namespace nn = torch::nn;
using torch::Tensor;

BottleneckDecoderImpl::BottleneckDecoderImpl(const ModelConfig& c, int64_t vocab, const nn::Embedding& shared) : maxout(c.maxout) {
  int64_t E = c.emb, K = 2 * c.hidden, D = c.dec_hidden;
  int64_t R = c.readout > 0 ? c.readout : c.emb;
  embed = make_embedding(vocab, E, shared);
  summary = register_module("summary", nn::Linear(K, D));
  init = register_module("init", nn::Linear(D, D));
  cell = register_module("cell", nn::GRUCell(E + D, D));
  readout = register_module("readout", nn::Linear(D + E + D, maxout ? 2 * R : R));
  out = make_output(R, vocab, c.tie_embeddings != "none");
  drop = register_module("drop", nn::Dropout(c.dropout));
}

std::pair<DecoderMemory, DecoderState> BottleneckDecoderImpl::start(const EncoderOutput& enc) {
  DecoderState st;
  st.feed = torch::tanh(summary(torch::cat({enc.last_fwd, enc.first_bwd}, 1)));  // c
  st.hidden = torch::tanh(init(st.feed));
  // c's shares of the cell input and the readout never change: once, here.
  const int64_t E = embed->weight.size(1), D = st.feed.size(1);
  st.fixed = torch::cat({torch::linear(st.feed, cell->weight_ih.narrow(1, E, D), cell->bias_ih),
                         torch::linear(st.feed, readout->weight.narrow(1, D + E, D), readout->bias)},
                        1);
  return {DecoderMemory{}, st};
}

StepOutput BottleneckDecoderImpl::step(const DecoderMemory&, DecoderState& st, const Tensor& y_prev) {
  Tensor e = drop(embed(y_prev));
  const int64_t E = e.size(1), D = st.hidden.size(1), G = cell->weight_ih.size(0);
  Tensor gi = row_linear(e, cell->weight_ih.narrow(1, 0, E), st.fixed.narrow(1, 0, G));  // [e; c] W_ih^T + b
  st.hidden = gru_step(gi, st.hidden, cell->weight_hh, cell->bias_hh);
  Tensor r = row_linear(torch::cat({st.hidden, e}, 1), readout->weight.narrow(1, 0, D + E),
                        st.fixed.narrow(1, G, st.fixed.size(1) - G));  // [s; e; c] W_r^T + b
  ++st.step;
  return {apply_linear(out, drop(deep_output(r, maxout))), Tensor()};
}

DecoderOutput BottleneckDecoderImpl::features(const EncoderOutput& enc, const Tensor& tgt_in) {
  auto [mem, st] = start(enc);
  Tensor embs = drop(embed(tgt_in));  // [B, T, E]
  Tensor c = st.feed.unsqueeze(1).expand({-1, tgt_in.size(1), -1});
  Tensor x = torch::cat({embs, c}, 2);
  // Steps on padding are skipped (their outputs, zero, are never scored).
  Tensor h = gru_layer(x, tgt_in.ne(Vocab::kPad).sum(1), st.hidden, cell->weight_ih, cell->weight_hh, cell->bias_ih,
                       cell->bias_hh)
                 .outputs;
  return {Tensor(), drop(deep_output(readout(torch::cat({h, embs, c}, 2)), maxout)), Tensor()};
}

}  // namespace attn
