// Everything `attn evaluate` and `attn compare` measure on a test set:
// decoding, translation metrics, perplexity, entropy statistics, AER.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/corpus.h"
#include "data/pipeline.h"
#include "eval/alignment.h"
#include "eval/attention_record.h"
#include "eval/entropy.h"
#include "model/seq2seq.h"
#include "search/search.h"

namespace attn {

struct EvalOptions {
  SearchOptions search;
  int batch_size = 64;
  int align_shift = 0;  // hard alignments from row t + shift
  torch::Device device = torch::kCPU;
  // Decode with these models as an ensemble (the evaluated model first);
  // empty: the evaluated model alone. Forced scores are the first's.
  std::vector<Seq2SeqImpl*> ensemble;
};

struct EvalReport {
  nlohmann::json metrics;
  std::vector<std::string> hyps;
  std::vector<AttentionRecord> records;  // every sentence (empty weights without attention)
  std::vector<AlignPairs> hard;          // argmax alignments
  EntropyStats entropy;                  // over decoded target steps
};

// The attention record of a decoded sentence: source tokens plus "</s>"
// across, the hypothesis's tokens down.
AttentionRecord attention_record(int id, const std::vector<std::string>& src_tokens, const TextModel& text,
                                 const Hypothesis& h);

// Reads a Pharaoh file, a line per example; throws DataError naming the file
// and line for a bad link and for one outside its sentence (either side).
std::vector<GoldAlignment> read_gold_alignments(const std::string& path, const std::vector<Example>& ex);
// The gold alignment of each example, by its line in the corpus files (a
// corpus may have skipped empty lines), checked like read_gold_alignments.
std::vector<GoldAlignment> gold_for_examples(const std::string& path, const std::vector<Example>& ex);

EvalReport evaluate_model(Seq2SeqImpl& model, const TextModel& text, const Corpus& corpus,
                          const std::vector<GoldAlignment>* gold, const EvalOptions& o);

}  // namespace attn
