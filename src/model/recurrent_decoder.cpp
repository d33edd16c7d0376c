#include "model/recurrent_decoder.h"

#include "data/vocab.h"
#include "ops/gru_layer.h"
#include "ops/row_linear.h"

namespace attn {

using torch::Tensor;

Tensor over_steps(const std::vector<Tensor>& parts) { return parts.size() == 1 ? parts[0] : torch::cat(parts, 1); }

Tensor Steps::linear(const torch::nn::Linear& layer, const Tensor& x) {
  if (count_ == 1 || x.size(1) != 1 || !torch::GradMode::is_enabled()) return apply_linear(layer, x);
  auto it = per_step_.find(layer.get());
  if (it == per_step_.end()) it = per_step_.emplace(layer.get(), StepLinear(layer->weight)).first;
  return it->second(x.squeeze(1), layer->bias).unsqueeze(1);
}

StepCell::StepCell(const torch::nn::GRUCell& cell, const Tensor& embs, const Tensor& bias, bool with_x)
    : training_(torch::GradMode::is_enabled()), w_hh_(cell->weight_hh), b_hh_(cell->bias_hh) {
  const int64_t B = embs.size(0), T = embs.size(1), E = embs.size(2), G = cell->weight_ih.size(0);
  // The columns of W_ih the steps use: [E y; x], or E y alone (an input that
  // never changes is in the bias).
  Tensor w_ih = with_x ? cell->weight_ih : cell->weight_ih.narrow(1, 0, E);
  if (!training_) {
    embs_ = embs, w_ih_ = w_ih, bias_ = bias;
    return;
  }
  Tensor w_emb = cell->weight_ih.narrow(1, 0, E);
  Tensor proj = bias.dim() == 1 ? torch::linear(embs, w_emb, bias) : torch::linear(embs, w_emb) + bias.unsqueeze(1);
  from_emb_ = proj.view({B, T, G}).unbind(1);
  if (with_x) from_x_.emplace(cell->weight_ih.narrow(1, E, cell->weight_ih.size(1) - E));
  from_state_.emplace(w_hh_);
}

Tensor StepCell::step(int64_t t, const Tensor& x, const Tensor& h) const {
  TORCH_CHECK(x.defined() == (training_ ? from_x_.has_value() : w_ih_.size(1) > embs_.size(2)),
              "decoder cell: a step's input does not match the cell's");
  if (!training_) {
    Tensor e = embs_.select(1, t);
    return gru_step(row_linear(x.defined() ? torch::cat({e, x}, 1) : e, w_ih_, bias_), h, w_hh_, b_hh_);
  }
  const Tensor& emb = from_emb_[static_cast<size_t>(t)];
  Tensor gi = x.defined() ? (*from_x_)(x, emb) : emb;  // W_ih [E y; x] + b_ih
  return gru_update(gi, (*from_state_)(h, b_hh_), h);
}

Tensor RecurrentDecoderImpl::cell_bias(const DecoderState& st) const {
  Tensor fixed = fixed_input(st);
  if (!fixed.defined()) return cell->bias_ih;
  const int64_t E = embed->weight.size(1);
  return torch::linear(fixed, cell->weight_ih.narrow(1, E, fixed.size(1)), cell->bias_ih);
}

DecoderOutput RecurrentDecoderImpl::run_steps(const DecoderMemory& mem, DecoderState& st, const Tensor& embs,
                                              const Tensor& lengths) {
  const int64_t T = embs.size(1);
  Steps steps(T);
  if (!feeds_back() && T > 1) {
    // Nothing feeds back: the whole recurrence is one GRU layer (not run on
    // padding, whose outputs are never scored), then after_cell once.
    Tensor fixed = fixed_input(st);
    Tensor x = fixed.defined() ? torch::cat({embs, fixed.unsqueeze(1).expand({-1, T, -1})}, 2) : embs;
    Tensor h = gru_layer(x, lengths, st.hidden, cell->weight_ih, cell->weight_hh, cell->bias_ih, cell->bias_hh).outputs;
    steps.hidden.push_back(h);
    after_cell(mem, st, h, steps);
    st.step += T;
  } else {
    StepCell gru(cell, embs, cell_bias(st), feeds_back());
    for (int64_t t = 0; t < T; ++t) {
      Tensor x = cell_input(mem, st, steps);
      st.hidden = gru.step(t, x, st.hidden);
      Tensor h = st.hidden.unsqueeze(1);
      steps.hidden.push_back(h);
      after_cell(mem, st, h, steps);
      ++st.step;
    }
  }
  DecoderOutput o;
  o.features = readout(steps, embs, st);
  if (!steps.weights.empty()) o.attention = over_steps(steps.weights);
  return o;
}

StepOutput RecurrentDecoderImpl::step(const DecoderMemory& mem, DecoderState& st, const Tensor& y_prev) {
  DecoderOutput o = run_steps(mem, st, drop(embed(y_prev)).unsqueeze(1), Tensor());
  return {apply_linear(out, o.features.squeeze(1)), o.attention.defined() ? o.attention.squeeze(1) : Tensor()};
}

DecoderOutput RecurrentDecoderImpl::features(const EncoderOutput& enc, const Tensor& tgt_in) {
  auto [mem, st] = start(enc);
  return run_steps(mem, st, drop(embed(tgt_in)), tgt_in.ne(Vocab::kPad).sum(1));
}

}  // namespace attn
