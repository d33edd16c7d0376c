// Encoder + one of the decoders, built from the model config.
#pragma once
#include <torch/torch.h>

#include "config/config.h"
#include "data/batch.h"
#include "model/decoder.h"
#include "model/encoder.h"
#include "model/loss.h"

namespace attn {

class Seq2SeqImpl : public torch::nn::Module {
 public:
  Seq2SeqImpl(const ModelConfig& c, int64_t src_vocab, int64_t tgt_vocab);
  EncoderOutput encode(const torch::Tensor& src, const torch::Tensor& src_len) { return encoder(src, src_len); }
  // Teacher-forced logits [B, T, V] and attention [B, T, S] (undefined for the bottleneck).
  DecoderOutput forward(const Batch& b);
  // The teacher-forced training loss. The output layer and the loss run on
  // the real target positions only: padding costs no vocabulary-sized work.
  // attention, if given, receives the weights [B, T, S] (undefined for the bottleneck).
  LossOutput loss(const Batch& b, double label_smoothing, double entropy_lambda, torch::Tensor* attention = nullptr);
  int64_t parameter_count() const;
  // Longest source in tokens (without EOS) this model can read; 0: any
  // (the location score has one weight per source position).
  int64_t max_source_tokens() const;

  ModelConfig config;
  int64_t src_vocab, tgt_vocab;
  Encoder encoder{nullptr};
  std::shared_ptr<DecoderImpl> decoder;
};
TORCH_MODULE(Seq2Seq);

// For its lifetime, every model's attention divides its scores by tau more
// (AttentionImpl::set_inference_temperature); the old value on exit.
class ScopedAttentionTemperature {
 public:
  ScopedAttentionTemperature(const std::vector<Seq2SeqImpl*>& models, double tau);
  ~ScopedAttentionTemperature();
  ScopedAttentionTemperature(const ScopedAttentionTemperature&) = delete;
  ScopedAttentionTemperature& operator=(const ScopedAttentionTemperature&) = delete;

 private:
  std::vector<std::pair<AttentionImpl*, double>> saved_;
};

}  // namespace attn
