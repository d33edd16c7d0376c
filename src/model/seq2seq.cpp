#include "model/seq2seq.h"

#include "config/registry.h"
#include "data/vocab.h"
#include "model/bahdanau_decoder.h"
#include "model/bottleneck_decoder.h"
#include "model/luong_decoder.h"

namespace attn {

Seq2SeqImpl::Seq2SeqImpl(const ModelConfig& c, int64_t sv, int64_t tv) : config(c), src_vocab(sv), tgt_vocab(tv) {
  encoder = register_module("encoder", Encoder(sv, c.emb, c.hidden, c.enc_layers, c.dropout));
  torch::nn::Embedding shared{nullptr};
  if (c.tie_embeddings == "all") {
    TORCH_CHECK(sv == tv, "model.tie_embeddings \"all\" needs one vocabulary for source and target (", sv, " and ",
                tv, " entries)");
    shared = encoder->embed;
  }
  if (c.type == "bahdanau")
    decoder = register_module("decoder", std::make_shared<BahdanauDecoderImpl>(c, tv, shared));
  else if (c.type == "luong")
    decoder = register_module("decoder", std::make_shared<LuongDecoderImpl>(c, tv, shared));
  else if (c.type == "bottleneck")
    decoder = register_module("decoder", std::make_shared<BottleneckDecoderImpl>(c, tv, shared));
  else
    TORCH_CHECK(false, "unknown model type \"", c.type, "\"");
}

ScopedAttentionTemperature::ScopedAttentionTemperature(const std::vector<Seq2SeqImpl*>& models, double tau) {
  for (auto* m : models)
    if (AttentionImpl* a = m->decoder->attention_module()) {
      saved_.emplace_back(a, a->inference_temperature());
      a->set_inference_temperature(tau);
    }
}

ScopedAttentionTemperature::~ScopedAttentionTemperature() {
  for (auto& [a, tau] : saved_) a->set_inference_temperature(tau);
}

DecoderOutput Seq2SeqImpl::forward(const Batch& b) {
  return decoder->forward(encode(b.src, b.src_len), b.tgt_in);
}

LossOutput Seq2SeqImpl::loss(const Batch& b, double label_smoothing, double entropy_lambda, torch::Tensor* attention) {
  DecoderOutput o = decoder->features(encode(b.src, b.src_len), b.tgt_in);
  torch::Tensor real = b.tgt_out.ne(Vocab::kPad);  // [B, T]
  torch::Tensor logits = decoder->project(o.features.index({real}));  // [N, V]
  torch::Tensor w = o.attention.defined() ? o.attention.index({real}) : torch::Tensor();
  if (attention) *attention = o.attention;
  return seq2seq_loss(logits, b.tgt_out.index({real}), w, label_smoothing, entropy_lambda);
}

int64_t Seq2SeqImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

int64_t Seq2SeqImpl::max_source_tokens() const {
  if (!attends(config)) return 0;
  const AttentionScore* s = find_score(config.attention.score);
  return s && s->max_source_tokens ? s->max_source_tokens(config.attention) : 0;
}

}  // namespace attn
