// Greedy and beam search over the decoder step interface. Both return,
// per sentence, hypotheses with their token ids, scores and attention rows.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "data/batch.h"
#include "model/seq2seq.h"
#include "search/ensemble.h"

namespace attn {

struct Hypothesis {
  std::vector<int> tokens;     // without EOS
  double log_prob = 0;         // sum of token log-probabilities (incl. EOS if ended)
  double score = 0;            // log_prob / length penalty: what beam search ranks by
  bool ended = true;           // produced EOS (false: cut at the maximum length)
  std::vector<double> token_log_probs;  // one per token, then EOS's if ended: they sum to log_prob
  torch::Tensor attention;     // [tokens, src_len incl. EOS] float CPU; undefined without attention or keep_attention
  torch::Tensor eos_attention;  // [src_len incl. EOS]: the step that emitted EOS; undefined if cut or no attention
};

struct SearchOptions {
  int beam = 1;
  double length_penalty = 0;  // GNMT alpha
  double max_len_ratio = 2.0;
  int max_len_add = 10;
  int nbest = 1;
  // Copy each step's attention out into the hypotheses. Only what shows or
  // measures attention asks (dumps, the server's "attention", AER, entropy);
  // plain translation skips the copies (Marian and JoeyNMT make it opt-in).
  bool keep_attention = false;
};

// The search a decode config asks for.
SearchOptions search_options(const DecodeConfig& d);

// "greedy" or "beam 5, length penalty 0.6": how outputs were made, for pages and logs.
std::string decoding_summary(const SearchOptions& o);

// GNMT length penalty ((5 + len) / 6)^alpha.
double length_penalty(int length, double alpha);

// Source lengths (with EOS) on the CPU, wherever the batch lives.
std::vector<int64_t> source_lengths(const Batch& batch);
// Per sentence: at most max_len_ratio * source tokens + max_len_add output
// tokens (at least 1). `longest` gets the largest.
std::vector<int> max_output_lengths(const std::vector<int64_t>& src_len, const SearchOptions& o, int& longest);

// Log-probabilities of the tokens search never emits (<pad>, <s>) set to
// -inf, in place, on the last dimension.
void mask_never_output(torch::Tensor& logp);

// Dispatches on opts.beam: 1 -> greedy (one hypothesis), else beam search.
std::vector<std::vector<Hypothesis>> search(Ensemble& models, const Batch& batch, const SearchOptions& opts);
std::vector<std::vector<Hypothesis>> greedy_search(Ensemble& models, const Batch& batch, const SearchOptions& opts);
std::vector<std::vector<Hypothesis>> beam_search(Ensemble& models, const Batch& batch, const SearchOptions& opts);
// One model: an ensemble of one.
inline std::vector<std::vector<Hypothesis>> search(Seq2SeqImpl& model, const Batch& batch, const SearchOptions& opts) {
  Ensemble e(model);
  return search(e, batch, opts);
}
inline std::vector<std::vector<Hypothesis>> greedy_search(Seq2SeqImpl& model, const Batch& batch,
                                                          const SearchOptions& opts) {
  Ensemble e(model);
  return greedy_search(e, batch, opts);
}
inline std::vector<std::vector<Hypothesis>> beam_search(Seq2SeqImpl& model, const Batch& batch,
                                                        const SearchOptions& opts) {
  Ensemble e(model);
  return beam_search(e, batch, opts);
}

}  // namespace attn
