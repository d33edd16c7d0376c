// The models search runs together: one, or an ensemble of several trained
// on the same vocabularies, whose per-step log-probabilities are averaged
// (as OpenNMT and Marian ensemble). Greedy and beam search see only this.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "data/batch.h"
#include "model/seq2seq.h"

namespace attn {

struct EnsembleStep {
  torch::Tensor logp;       // [rows, V]: mean of the members' log-softmax, <pad>/<s> at -inf
  torch::Tensor attention;  // [rows, S]: mean over the members that attend; undefined if none does
};

// The members' outputs combined as an ensemble combines them: log-softmax
// over the last dimension, averaged; attention averaged over the members
// that attend. Any leading shape ([rows, V] per step, [B, T, V] forced).
EnsembleStep combine_members(const std::vector<StepOutput>& outputs);

class Ensemble {
 public:
  explicit Ensemble(std::vector<Seq2SeqImpl*> members);
  explicit Ensemble(Seq2SeqImpl& model) : Ensemble(std::vector<Seq2SeqImpl*>{&model}) {}
  // Encodes the batch: one row per sentence.
  void start(const Batch& batch);
  EnsembleStep step(const torch::Tensor& y_prev);
  // Keeps (and repeats) rows idx of the decoder states; the encoder memory
  // too when sentences left the batch or rows were expanded.
  void select(const torch::Tensor& idx, bool memory_too);
  const std::vector<Seq2SeqImpl*>& members() const { return members_; }
  bool has_attention() const;
  // Longest source in tokens every member reads; 0: any.
  int64_t max_source_tokens() const;

 private:
  std::vector<Seq2SeqImpl*> members_;
  std::vector<DecoderMemory> mem_;
  std::vector<DecoderState> state_;
};

}  // namespace attn
