// The one step definition that training and search share (after Marian,
// whose decoder runs the same `step` for both). A decoder here says what
// happens around its GRU cell, whose input is [E y_{t-1}; x_t]:
//   cell_input()  x_t, from the state before the cell (Bahdanau: attention
//                 with s_{t-1}; Luong with input feeding: h~_{t-1})
//   after_cell()  what follows the new states (Luong: attention with h_t)
//   readout()     the features the output layer reads, over all steps
// and run_steps() drives them: one step for search, every step for teacher
// forcing. There, what does not depend on the recurrence runs once over all
// steps (the embedding half of the cell's input projection, the readout), a
// linear map used at every step defers its weight gradient to one GEMM
// (StepLinear), and when nothing feeds back (no x_t) the recurrence is one
// GRU layer over the whole target and after_cell() runs once for all steps.
#pragma once
#include <map>
#include <optional>
#include <vector>

#include "model/decoder.h"
#include "ops/step_linear.h"

namespace attn {

// What the steps of one run recorded, each [B, 1, *] per step or [B, T, *]
// for all steps at once; cat(…, 1) gives [B, T, *].
class Steps {
 public:
  explicit Steps(int64_t count) : count_(count) {}
  int64_t count() const { return count_; }
  std::vector<torch::Tensor> hidden;       // s_t (the driver)
  std::vector<torch::Tensor> context;      // c_t (Bahdanau)
  std::vector<torch::Tensor> attentional;  // h~_t (Luong)
  std::vector<torch::Tensor> weights;      // attention [B, *, S]
  // layer(x) for x [B, 1, K] at one step of a teacher-forced run (the
  // weight gradient deferred to one GEMM over the run's steps); otherwise
  // apply_linear (one GEMM over all steps, or row_linear for one row).
  torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x);

 private:
  int64_t count_;
  std::map<const torch::nn::LinearImpl*, StepLinear> per_step_;
};

// A GRU cell whose input is [E y_t; x_t], for teacher forcing and decoding.
// Training: the embedding half of W_ih [E y; x] + b_ih does not depend on
// the recurrence, so it is one GEMM over all steps; the x half and W_hh h
// run per step with their weight gradients deferred to one GEMM each
// (StepLinear). Decoding (no grad mode): W_ih [E y; x] + b_ih as one product
// and gru_step, the fewest ops for one row.
class StepCell {
 public:
  // embs [B, T, E]: the target embeddings of all steps; bias [3D] (b_ih) or
  // [B, 3D] (b_ih plus the share of an input that never changes); with_x:
  // whether steps bring an x.
  StepCell(const torch::nn::GRUCell& cell, const torch::Tensor& embs, const torch::Tensor& bias, bool with_x);
  // The hidden state after step t, from x [B, X] (or undefined) and the previous state h [B, D].
  torch::Tensor step(int64_t t, const torch::Tensor& x, const torch::Tensor& h) const;

 private:
  bool training_;
  torch::Tensor embs_, w_ih_, bias_, w_hh_, b_hh_;  // decoding
  std::vector<torch::Tensor> from_emb_;  // training: per step [B, 3D]; unbind once: select() per step zero-fills in backward
  std::optional<StepLinear> from_x_, from_state_;
};

class RecurrentDecoderImpl : public DecoderImpl {
 public:
  StepOutput step(const DecoderMemory& mem, DecoderState& state, const torch::Tensor& y_prev) override;
  DecoderOutput features(const EncoderOutput& enc, const torch::Tensor& tgt_in) override;
  torch::Tensor project(const torch::Tensor& f) override { return out(f); }

  torch::nn::GRUCell cell{nullptr};
  torch::nn::Dropout drop{nullptr};

 protected:
  // Whether cell_input() gives an x_t computed from the previous step.
  virtual bool feeds_back() const = 0;
  virtual torch::Tensor cell_input(const DecoderMemory&, DecoderState&, Steps&) { return {}; }
  // h [B, T, D]: the new state of one step (T = 1) or of all steps.
  virtual void after_cell(const DecoderMemory&, DecoderState&, const torch::Tensor& h, Steps&) {}
  // Part of the cell's input that never changes over the steps, [B, X], or
  // undefined (the bottleneck's summary c).
  virtual torch::Tensor fixed_input(const DecoderState&) const { return {}; }
  // b_ih plus fixed_input's share of W_ih: a decoder may keep it in its state.
  virtual torch::Tensor cell_bias(const DecoderState& st) const;
  // The features [B, T, F] the output layer reads, from what the steps recorded.
  virtual torch::Tensor readout(const Steps& steps, const torch::Tensor& embs, const DecoderState& st) = 0;

 private:
  // embs [B, T, E]; lengths [B] (teacher forcing) or undefined (one step).
  DecoderOutput run_steps(const DecoderMemory& mem, DecoderState& st, const torch::Tensor& embs,
                          const torch::Tensor& lengths);
};

// cat(parts, 1): the steps' records as [B, T, *].
torch::Tensor over_steps(const std::vector<torch::Tensor>& parts);

}  // namespace attn
