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

// BLEU, chrF, exact match and positional token accuracy, overall and per
// source-length bucket. src_len: tokens of each source.
nlohmann::json translation_metrics(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                                   const std::vector<int>& src_len, int bucket_width = 10);

}  // namespace attn
