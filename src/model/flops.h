// Floating-point work of a model, counted from its shapes: the yardstick for
// achieved speed (model FLOP/s as a share of the machine's sgemm rate).
// Counts the products (2 per multiply-add): GEMMs, attention scores and
// contexts. Element-wise work (gates, tanh, softmax) is left out, as
// MFU figures usually do, so the share is a slight underestimate.
#pragma once
#include <cstdint>

#include "config/config.h"
#include "data/batch.h"

namespace attn {

// An [rows, in] x [in, out] product.
inline double gemm_flops(double rows, double in, double out) { return 2.0 * rows * in * out; }
// A GRU over `steps` inputs of size `in`: input projection and recurrence, three gates each.
inline double gru_flops(double steps, double in, double hidden) {
  return gemm_flops(steps, in, 3 * hidden) + gemm_flops(steps, hidden, 3 * hidden);
}

// Forward pass over one sentence pair: `src_len` source positions (with
// EOS), `tgt_len` decoder steps (with EOS), every step through the output
// layer; with `beams` > 1 the decoder runs that many hypotheses per step (beam
// search) over one encoding. The decoder's own part is its registry entry's
// (config/registry.h); an unknown model type is an error, never another's count.
double forward_flops(const ModelConfig& m, int64_t tgt_vocab, int64_t src_len, int64_t tgt_len, int beams = 1);

// A training update on a batch: forward + backward, backward counted as twice
// the forward (a gradient for the input and one for the weights per product).
double train_flops(const ModelConfig& m, int64_t tgt_vocab, const Batch& b);

}  // namespace attn
