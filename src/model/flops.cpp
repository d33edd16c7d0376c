#include "model/flops.h"

#include <stdexcept>
#include <vector>

#include "config/registry.h"

namespace attn {

double forward_flops(const ModelConfig& m, int64_t tgt_vocab, int64_t src_len, int64_t tgt_len, int beams) {
  const ModelType* type = find_model_type(m.type);
  if (!type || !type->flops) throw std::invalid_argument("forward_flops: unknown model type \"" + m.type + "\"");
  // T counts decoder rows: every hypothesis of every step.
  const double S = static_cast<double>(src_len), T = static_cast<double>(tgt_len) * beams;
  const double E = m.emb, H = m.hidden, K = 2.0 * m.hidden;
  double f = 0;
  for (int l = 0; l < m.enc_layers; ++l) f += 2 * gru_flops(S, l == 0 ? E : K, H);  // both directions
  if (type->attention) {
    // Keys projected once, then per step a query's scores and a context (sum_j a_j h_j).
    const AttentionScore* a = find_score(m.attention.score);
    auto [keys, scores] = a && a->flops ? a->flops(m, S) : std::pair<double, double>{0.0, 0.0};
    f += keys + T * (scores + 2 * S * K);
  }
  return f + type->flops(m, T, static_cast<double>(tgt_vocab));
}

double train_flops(const ModelConfig& m, int64_t tgt_vocab, const Batch& b) {
  auto src = b.src_len.to(torch::kCPU);
  auto tgt = b.tgt_out.ne(0).sum(1).to(torch::kCPU);
  auto s = src.accessor<int64_t, 1>();
  auto t = tgt.accessor<int64_t, 1>();
  double f = 0;
  for (int64_t i = 0; i < src.size(0); ++i) f += forward_flops(m, tgt_vocab, s[i], t[i]);
  return 3 * f;
}

}  // namespace attn
