// The decoder interface that training, greedy and beam search share (after
// Marian): start() from the encoder, step() one token, and teacher-forced
// features() / forward(). The model's decoders derive both from one step
// definition (model/recurrent_decoder.h); search sees only this seam.
#pragma once
#include <torch/torch.h>

#include <tuple>

#include "model/attention.h"
#include "model/encoder.h"

namespace attn {

// Every tensor here has one row per hypothesis; beam search reorders them
// all through rows(). A new field goes into rows() too: the static_assert in
// decoder.cpp stops the build until it does.
struct DecoderState {
  torch::Tensor hidden;    // [B, Hd]
  torch::Tensor feed;      // [B, F]: input feeding (luong), summary (bottleneck), or undefined
  torch::Tensor coverage;  // [B, S]: summed attention so far, or undefined
  int64_t step = 0;
  torch::Tensor fixed;     // [B, *]: per-sentence terms computed once in start() (bottleneck), or undefined
  // The per-hypothesis tensors, each [B, ...].
  auto rows() { return std::tie(hidden, feed, coverage, fixed); }
  // Rows idx of every per-hypothesis tensor (undefined ones stay undefined).
  DecoderState index_select(const torch::Tensor& idx) const;
};

// What a decoder keeps from the encoder for the whole batch.
struct DecoderMemory {
  AttentionMemory attention;  // undefined members for the bottleneck
  DecoderMemory index_select(const torch::Tensor& idx) const;
};

struct StepOutput {
  torch::Tensor logits;     // [B, V]
  torch::Tensor attention;  // [B, S], undefined without attention
};

struct DecoderOutput {
  torch::Tensor logits;     // [B, T, V] (forward), or undefined (features)
  torch::Tensor features;   // [B, T, F]: what the output layer maps to logits
  torch::Tensor attention;  // [B, T, S], undefined without attention
};

class DecoderImpl : public torch::nn::Module {
 public:
  virtual std::pair<DecoderMemory, DecoderState> start(const EncoderOutput& enc) = 0;
  virtual StepOutput step(const DecoderMemory& mem, DecoderState& state, const torch::Tensor& y_prev) = 0;
  // Teacher forcing, tgt_in [B, T]: everything up to the output layer, which
  // the loss then runs on real target positions only (what comes out at
  // padded positions is unspecified).
  virtual DecoderOutput features(const EncoderOutput& enc, const torch::Tensor& tgt_in) = 0;
  virtual torch::Tensor project(const torch::Tensor& features) { return features; }
  // Teacher-forced logits [B, T, V]: project(features(...)).
  DecoderOutput forward(const EncoderOutput& enc, const torch::Tensor& tgt_in);
  virtual bool has_attention() const { return true; }
  // The attention module, or nullptr (the bottleneck).
  virtual AttentionImpl* attention_module() const { return nullptr; }

  torch::nn::Embedding embed{nullptr};  // target embedding
  torch::nn::Linear out{nullptr};       // output layer: features -> vocabulary logits

 protected:
  // The target embedding [V, E]: a new one, or `shared` (tie_embeddings
  // "all": the encoder's, registered there and trained through both uses).
  torch::nn::Embedding make_embedding(int64_t vocab, int64_t E, const torch::nn::Embedding& shared);
  // The output layer [V, in]. Tied (Press & Wolf 2017; in == E), its
  // matrix is the target embedding's: one tensor, gradients from both uses,
  // stored once; only its bias is the layer's own.
  torch::nn::Linear make_output(int64_t in, int64_t vocab, bool tied);
};

// maxout (pool 2) or tanh over the last dimension: the deep output of Bahdanau et al.
torch::Tensor deep_output(const torch::Tensor& t, bool maxout);

}  // namespace attn
