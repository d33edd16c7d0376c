// Soft attention over encoder states.
//
// One interface for every score: keys are projected once per batch
// (`project_keys`), then `forward` scores a block of queries against them,
// masks padding with -inf, applies a stable softmax and returns
// (context, weights). Queries come as [B, T, Q] so a decoder can attend for
// one step (T = 1) or for all steps at once when its queries are known.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

#include "config/config.h"

namespace attn {

// Fixed for a batch: what the attention looks at.
struct AttentionMemory {
  torch::Tensor values;     // [B, S, K] encoder states
  torch::Tensor proj_keys;  // [B, S, *] from project_keys(values)
  torch::Tensor mask;       // [B, S] bool, true on real source positions
  torch::Tensor src_len;    // [B] long
  torch::Tensor padding;    // [B, 1, S] bool, !mask: what every step masks with -inf
  // Training on the CPU: where the fused kernels add each step's gradient
  // for values / proj_keys (see gradient_sink in attention_kernels.h).
  // Undefined otherwise, and after index_select (decoding).
  torch::Tensor values_sink, keys_sink;
  // Decoding on the CPU with the fused kernels: index_select only maps rows
  // (row a reads values / proj_keys row rows[a]; mask, src_len and padding
  // are per row) instead of copying [B, S, *] tensors whenever a search
  // drops or reorders sentences.
  bool by_rows = false;
  torch::Tensor rows;  // [A] long, or undefined: row a is row a
  AttentionMemory index_select(const torch::Tensor& idx) const;
  // proj_keys with one row per batch row (copied if rows is defined).
  torch::Tensor row_keys() const;
};

// t.index_select(0, idx), or t itself when undefined (state a model lacks).
torch::Tensor select_rows(const torch::Tensor& t, const torch::Tensor& idx);

struct AttentionOutput {
  torch::Tensor context;  // [B, T, K]
  torch::Tensor weights;  // [B, T, S]: rows sum to 1, exactly 0 on padding
};

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(double temperature, double dropout) : temperature_(temperature), dropout_(dropout) {}
  // Work that does not change across decoder steps: done once per batch.
  virtual torch::Tensor project_keys(const torch::Tensor& values) { return values; }
  // What a decoder keeps for a batch: values, projected keys, mask, lengths
  // (and the gradient sinks when training with the fused kernels).
  AttentionMemory memory(const torch::Tensor& values, const torch::Tensor& mask, const torch::Tensor& src_len);
  // query [B, T, Q]; positions [T] long: target step of each query (local-m);
  // coverage [B, S] summed past weights, or undefined.
  AttentionOutput forward(const torch::Tensor& query, const AttentionMemory& mem, const torch::Tensor& positions,
                          const torch::Tensor& coverage = {});
  // Unnormalised scores [B, T, S] (before masking and temperature).
  virtual torch::Tensor score(const torch::Tensor& query, const AttentionMemory& mem,
                              const torch::Tensor& coverage) = 0;
  // Additive log-prior on the scores ([B, T, S], -inf = forbidden), or
  // undefined. Local attention uses it for its window and Gaussian.
  virtual torch::Tensor prior(const torch::Tensor& query, const AttentionMemory& mem,
                              const torch::Tensor& positions) {
    return {};
  }
  // Whether prior() reads the step positions (so decoders can skip making them).
  virtual bool uses_positions() const { return false; }
  // Whether score() reads keys only through the ops of
  // ops/attention_kernels.h (or row_keys()), which follow row maps, so
  // decoding may map rows instead of copying memory (by_rows). Off unless a
  // score says so: one reading mem.proj_keys directly needs copied rows.
  virtual bool fused_steps() const { return false; }
  // Attention temperature at inference, on top of the trained one: scores
  // are divided by temperature * tau (tau -> 0 nears argmax, large nears
  // uniform). Set by ScopedAttentionTemperature, never saved.
  void set_inference_temperature(double tau) { inference_temperature_ = tau; }
  double inference_temperature() const { return inference_temperature_; }

 protected:
  double temperature_, dropout_;
  double inference_temperature_ = 1.0;
};

// Bahdanau et al. 2014: e = v^T tanh(W q + U h (+ w_c cov)).
// Luong's "concat", v^T tanh(W [q; h]), is the same function.
class AdditiveAttentionImpl : public AttentionImpl {
 public:
  AdditiveAttentionImpl(int64_t query_dim, int64_t key_dim, int64_t attn_dim, bool coverage, double temperature,
                        double dropout);
  torch::Tensor project_keys(const torch::Tensor& values) override;
  torch::Tensor score(const torch::Tensor& query, const AttentionMemory& mem, const torch::Tensor& coverage) override;
  bool fused_steps() const override { return true; }

  torch::nn::Linear query_layer{nullptr}, key_layer{nullptr}, v{nullptr}, coverage_layer{nullptr};
};

// Luong dot: e = q^T h (needs equal sizes).
class DotAttentionImpl : public AttentionImpl {
 public:
  using AttentionImpl::AttentionImpl;
  torch::Tensor score(const torch::Tensor& query, const AttentionMemory& mem, const torch::Tensor& coverage) override;
  bool fused_steps() const override { return true; }
};

// Luong general: e = q^T W h; W h is precomputed per batch.
class GeneralAttentionImpl : public AttentionImpl {
 public:
  GeneralAttentionImpl(int64_t query_dim, int64_t key_dim, double temperature, double dropout);
  torch::Tensor project_keys(const torch::Tensor& values) override;
  torch::Tensor score(const torch::Tensor& query, const AttentionMemory& mem, const torch::Tensor& coverage) override;
  bool fused_steps() const override { return true; }

  torch::nn::Linear key_layer{nullptr};
};

// Luong location: a = softmax(W q), a score per source position from the
// query alone, up to max_src_len positions.
class LocationAttentionImpl : public AttentionImpl {
 public:
  LocationAttentionImpl(int64_t query_dim, int64_t max_src_len, double temperature, double dropout);
  torch::Tensor score(const torch::Tensor& query, const AttentionMemory& mem, const torch::Tensor& coverage) override;
  bool fused_steps() const override { return true; }

  torch::nn::Linear layer{nullptr};
  int64_t max_src_len;
};

// Luong local attention (2015, section 3.2): general scores restricted to a
// window [p - D, p + D] and weighted by a Gaussian with sigma = D/2.
// local-m: p = t (monotonic). local-p: p = (len - 1) * sigmoid(v^T tanh(W q)).
// The Gaussian is added in log space before the one softmax, so the weights
// stay a distribution (the paper multiplies after normalising).
class LocalAttentionImpl : public GeneralAttentionImpl {
 public:
  LocalAttentionImpl(bool predictive, int64_t query_dim, int64_t key_dim, int64_t window, double temperature,
                     double dropout);
  torch::Tensor prior(const torch::Tensor& query, const AttentionMemory& mem,
                      const torch::Tensor& positions) override;
  bool uses_positions() const override { return !predictive; }
  // Aligned positions p [B, T] (float).
  torch::Tensor centres(const torch::Tensor& query, const AttentionMemory& mem, const torch::Tensor& positions);

  bool predictive;
  int64_t window;
  torch::nn::Linear pos_hidden{nullptr}, pos_out{nullptr};
};

std::shared_ptr<AttentionImpl> make_attention(const AttentionConfig& c, int64_t query_dim, int64_t key_dim,
                                              int64_t attn_dim);

}  // namespace attn
