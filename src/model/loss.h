// Training loss: token cross-entropy without padding, label smoothing, and
// an attention-entropy regulariser (a positive lambda penalises entropy and so
// sharpens attention; a negative one spreads it).
#pragma once
#include <torch/torch.h>

namespace attn {

struct LossOutput {
  torch::Tensor loss;          // scalar to minimise: mean per target token (+ lambda * mean H)
  double nll_sum = 0;          // summed negative log-likelihood (no smoothing): for perplexity
  double entropy_sum = 0;      // summed attention entropy over real target steps, nats
  int64_t tokens = 0;          // real target tokens
  int64_t correct = 0;         // argmax == reference
};

// Entropy -sum a log a of each attention row ([..., S] -> [...]); 0 log 0 = 0.
torch::Tensor attention_entropy(const torch::Tensor& weights);

// logits [..., V], target [...] (PAD ignored), attention [..., S] or undefined.
LossOutput seq2seq_loss(const torch::Tensor& logits, const torch::Tensor& target, const torch::Tensor& attention,
                        double label_smoothing, double entropy_lambda);

}  // namespace attn
