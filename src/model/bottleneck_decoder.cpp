#include "model/bottleneck_decoder.h"

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
  readout_layer = register_module("readout", nn::Linear(D + E + D, maxout ? 2 * R : R));
  out = make_output(R, vocab, c.tie_embeddings != "none");
  drop = register_module("drop", nn::Dropout(c.dropout));
}

std::pair<DecoderMemory, DecoderState> BottleneckDecoderImpl::start(const EncoderOutput& enc) {
  DecoderState st;
  st.feed = torch::tanh(summary(torch::cat({enc.last_fwd, enc.first_bwd}, 1)));  // c
  st.hidden = torch::tanh(init(st.feed));
  // c's shares of the cell input and the readout never change: once, here
  // ([B, 3D] then [B, R']; state, so that search reorders them with the rows).
  const int64_t E = embed->weight.size(1), D = st.feed.size(1);
  st.fixed = torch::cat({torch::linear(st.feed, cell->weight_ih.narrow(1, E, D), cell->bias_ih),
                         torch::linear(st.feed, readout_layer->weight.narrow(1, D + E, D), readout_layer->bias)},
                        1);
  return {DecoderMemory{}, st};
}

Tensor BottleneckDecoderImpl::cell_bias(const DecoderState& st) const {
  return st.fixed.narrow(1, 0, cell->weight_ih.size(0));
}

Tensor BottleneckDecoderImpl::readout(const Steps& steps, const Tensor& embs, const DecoderState& st) {
  // [s; E y; c] W_r^T + b, with c's share (and b) from start().
  const int64_t G = cell->weight_ih.size(0), B = embs.size(0), T = embs.size(1);
  Tensor in = torch::cat({over_steps(steps.hidden), embs}, 2);  // [B, T, D + E]
  Tensor w = readout_layer->weight.narrow(1, 0, in.size(2)), c_share = st.fixed.narrow(1, G, st.fixed.size(1) - G);
  Tensor r = T == 1 ? row_linear(in.view({B, -1}), w, c_share).unsqueeze(1) : torch::linear(in, w) + c_share.unsqueeze(1);
  return drop(deep_output(r, maxout));
}

}  // namespace attn
