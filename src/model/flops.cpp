#include "model/flops.h"

#include <vector>

#include "config/registry.h"

namespace attn {

namespace {
double gemm(double rows, double in, double out) { return gemm_flops(rows, in, out); }
// A GRU over `steps` inputs of size `in`: input projection and recurrence, three gates each.
double gru(double steps, double in, double hidden) { return gemm(steps, in, 3 * hidden) + gemm(steps, hidden, 3 * hidden); }
}  // namespace

double forward_flops(const ModelConfig& m, int64_t tgt_vocab, int64_t src_len, int64_t tgt_len, int beams) {
  // T counts decoder rows: every hypothesis of every step.
  const double S = static_cast<double>(src_len), T = static_cast<double>(tgt_len) * beams;
  const double V = static_cast<double>(tgt_vocab);
  const double E = m.emb, H = m.hidden, K = 2.0 * m.hidden, D = m.dec_hidden;
  const double R = m.readout > 0 ? m.readout : m.emb, Rw = m.maxout ? 2 * R : R;
  double f = 0;
  for (int l = 0; l < m.enc_layers; ++l) f += 2 * gru(S, l == 0 ? E : K, H);  // both directions
  if (!attends(m)) {
    f += gemm(1, K, D) + gemm(1, D, D);                        // summary, initial state
    f += gru(T, E + D, D) + gemm(T, D + E + D, Rw) + gemm(T, R, V);  // cell, readout, output
    return f;
  }
  // Attention: keys projected once, then per step a query's scores and a
  // context (sum_j a_j h_j).
  const AttentionScore* a = find_score(m.attention.score);
  auto [keys, scores] = a && a->flops ? a->flops(m, S) : std::pair<double, double>{0.0, 0.0};
  double per_step = scores + 2 * S * K;
  f += keys + T * per_step;
  if (m.type == "bahdanau") {
    f += gemm(1, H, D);                                             // s_0 from the backward state
    f += gru(T, E + K, D) + gemm(T, D + E + K, Rw) + gemm(T, R, V);  // cell, deep output, output
  } else {                                                          // luong
    f += gemm(1, K, D);                                             // bridge
    f += gru(T, E + (m.input_feeding ? D : 0), D) + gemm(T, K + D, D) + gemm(T, D, V);  // cell, combine, output
  }
  return f;
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
