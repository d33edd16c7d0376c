#include "model/seq2seq.h"

#include "config/registry.h"
#include "data/vocab.h"
#include "model/bahdanau_decoder.h"
#include "model/bottleneck_decoder.h"
#include "model/flops.h"
#include "model/luong_decoder.h"

namespace attn {

// The built-in decoders, one entry each: what config validation, the model,
// search and the FLOP count know of them. Registered here, in the file that
// builds models, so the static archive's linker keeps them (a decoder's own
// .cpp, referenced by nothing else, would be dropped).
namespace {
using Shared = std::shared_ptr<torch::nn::EmbeddingImpl>;
double gemm(double rows, double in, double out) { return gemm_flops(rows, in, out); }
double readout(const ModelConfig& m) { return m.readout > 0 ? m.readout : m.emb; }
double deep_width(const ModelConfig& m) { return m.maxout ? 2 * readout(m) : readout(m); }  // maxout: pool 2

template <class Impl>
std::shared_ptr<DecoderImpl> make_decoder(const ModelConfig& c, int64_t vocab, const Shared& shared) {
  return std::make_shared<Impl>(c, vocab, torch::nn::Embedding(shared));
}

[[maybe_unused]] const bool kBuiltIn =
    register_model_type({"bahdanau", "Bahdanau RNNsearch", true, true, "additive", false, {},
                         make_decoder<BahdanauDecoderImpl>,
                         [](const ModelConfig& m, double T, double V) {
                           const double E = m.emb, H = m.hidden, K = 2.0 * m.hidden, D = m.dec_hidden;
                           return gemm(1, H, D)                                   // s_0 from the backward state
                                  + gru_flops(T, E + K, D) + gemm(T, D + E + K, deep_width(m))  // cell, deep output
                                  + gemm(T, readout(m), V);                                      // output layer
                         }}) &&
    register_model_type({"luong", "Luong", true, false, "general", true, {}, make_decoder<LuongDecoderImpl>,
                         [](const ModelConfig& m, double T, double V) {
                           const double E = m.emb, K = 2.0 * m.hidden, D = m.dec_hidden;
                           return gemm(1, K, D)                                            // bridge
                                  + gru_flops(T, E + (m.input_feeding ? D : 0), D)          // cell
                                  + gemm(T, K + D, D) + gemm(T, D, V);                     // combine, output layer
                         }}) &&
    register_model_type({"bottleneck", "fixed-bottleneck (no attention)", false, false, "", false, {},
                         make_decoder<BottleneckDecoderImpl>, [](const ModelConfig& m, double T, double V) {
                           const double E = m.emb, K = 2.0 * m.hidden, D = m.dec_hidden;
                           return gemm(1, K, D) + gemm(1, D, D)                          // summary, initial state
                                  + gru_flops(T, E + D, D) + gemm(T, D + E + D, deep_width(m))  // cell, readout
                                  + gemm(T, readout(m), V);                                      // output layer
                         }});
}  // namespace

Seq2SeqImpl::Seq2SeqImpl(const ModelConfig& c, int64_t sv, int64_t tv) : config(c), src_vocab(sv), tgt_vocab(tv) {
  encoder = register_module("encoder", Encoder(sv, c.emb, c.hidden, c.enc_layers, c.dropout));
  torch::nn::Embedding shared{nullptr};
  if (c.tie_embeddings == "all") {
    TORCH_CHECK(sv == tv, "model.tie_embeddings \"all\" needs one vocabulary for source and target (", sv, " and ",
                tv, " entries)");
    shared = encoder->embed;
  }
  const ModelType* type = find_model_type(c.type);
  TORCH_CHECK(type && type->make, "unknown model type \"", c.type, "\"");
  decoder = register_module("decoder", type->make(c, tv, shared ? shared.ptr() : nullptr));
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
