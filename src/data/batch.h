// Batches: length-bucketed, padded tensors, deterministic given the seed.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "data/corpus.h"

namespace attn {

struct Batch {
  torch::Tensor src;      // [B, S] long: tokens + EOS, padded with PAD
  torch::Tensor src_len;  // [B] long: lengths including EOS
  torch::Tensor tgt_in;   // [B, T] long: BOS + tokens, padded
  torch::Tensor tgt_out;  // [B, T] long: tokens + EOS, padded
  std::vector<int> index;  // positions in the corpus, in batch order
  int64_t tgt_tokens = 0;  // non-pad target tokens (incl. EOS)
  int64_t src_tokens = 0;
  int size() const { return static_cast<int>(index.size()); }
  Batch to(const torch::Device& d) const;
};

Batch make_batch(const std::vector<Example>& ex, const std::vector<int>& index);

struct BatchPlanOptions {
  int batch_size = 64;    // sentences, used when batch_tokens == 0
  int batch_tokens = 0;   // padded target tokens per batch
  bool shuffle = true;
  uint64_t seed = 1;      // with the epoch: the same plan on every run
  int bucket_batches = 50;  // sort by length inside pools of this many batches
};

// Which examples go in each batch for one epoch. Every example exactly once.
std::vector<std::vector<int>> plan_batches(const std::vector<Example>& ex, const BatchPlanOptions& o, int epoch);

// Share of padding in the padded source+target tensors of a plan.
double padding_ratio(const std::vector<Example>& ex, const std::vector<std::vector<int>>& plan);

}  // namespace attn
