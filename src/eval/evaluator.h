// Scoring a model on a corpus: teacher-forced loss/perplexity/accuracy and
// attention entropy; decoding; translation metrics per source length.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/corpus.h"
#include "data/pipeline.h"
#include "eval/entropy.h"
#include "model/seq2seq.h"
#include "search/search.h"

namespace attn {

struct ForcedScores {
  double nll_sum = 0;
  int64_t tokens = 0, correct = 0;
  EntropyStats entropy;  // over the reference target steps
  // With keep_attention: per example, in corpus order, the forced attention
  // [target words + 1, source words + 1] (CPU float); empty without attention.
  std::vector<torch::Tensor> attention;
  double loss() const { return tokens ? nll_sum / static_cast<double>(tokens) : 0.0; }
  double perplexity() const;
  double token_accuracy() const { return tokens ? static_cast<double>(correct) / static_cast<double>(tokens) : 0.0; }
};

// Teacher forcing over the corpus in eval mode, no gradients.
ForcedScores score_corpus(Seq2SeqImpl& model, const std::vector<Example>& ex, int batch_size,
                          const torch::Device& device, bool keep_attention = false);

// Decodes every example; results in corpus order. Batches are formed from
// length-sorted examples so little padding is decoded.
std::vector<std::vector<Hypothesis>> decode_corpus(Seq2SeqImpl& model, const std::vector<Example>& ex,
                                                   const SearchOptions& opts, int batch_size,
                                                   const torch::Device& device);
// The same with an ensemble: the members' log-probabilities averaged per step.
std::vector<std::vector<Hypothesis>> decode_corpus(const std::vector<Seq2SeqImpl*>& models,
                                                   const std::vector<Example>& ex, const SearchOptions& opts,
                                                   int batch_size, const torch::Device& device);

// Forced decoding of given targets: each sentence's log-probability under
// a model or an ensemble (the members' log-softmax averaged per step, as
// search averages them), so a hypothesis scores what search gave it.
struct SentenceScore {
  double log_prob = 0;      // sum over the target tokens and EOS
  int64_t tokens = 0;       // target tokens + 1 (EOS)
  std::vector<double> token_log_probs;  // one per token, EOS last
  torch::Tensor attention;  // with keep_attention: [tokens, source + 1] CPU float (members' mean); else undefined
};
std::vector<SentenceScore> score_sentences(const std::vector<Seq2SeqImpl*>& models, const std::vector<Example>& ex,
                                           int batch_size, const torch::Device& device, bool keep_attention);

// BLEU, chrF, exact match and positional token accuracy, overall and per
// source-length bucket. src_len: tokens of each source.
nlohmann::json translation_metrics(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                                   const std::vector<int>& src_len, int bucket_width = 10);

}  // namespace attn
