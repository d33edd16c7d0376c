// The translator: checkpoints in, structured results out. `attn translate`,
// `attn score` and `attn serve` all call this layer, so what a person gets
// from the command line and from the server is computed the same way.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "eval/attention_record.h"
#include "eval/evaluator.h"
#include "search/search.h"
#include "train/checkpoint.h"

namespace attn {

// One model as it is used: a checkpoint, or several decoding as an ensemble
// (log-probabilities averaged per step; attention: the members' mean).
struct TranslationModel {
  std::string name;  // what serve calls it; empty for the command line
  std::vector<std::string> paths;
  std::vector<Checkpoint> checkpoints;
  std::vector<Seq2SeqImpl*> members;
  torch::Device device = torch::kCPU;
  size_t max_source_tokens = 0;  // longest source every member reads, 0 = any
  std::string summary;           // model_summary(), "ensemble of N: a + b" for several

  const Checkpoint& first() const { return checkpoints.front(); }
  const TextModel& text() const { return checkpoints.front().text; }
  bool has_attention() const;
  int64_t parameters() const;  // summed over the members
};

// Loads the checkpoints (one vocabulary for all, see load_checkpoints).
TranslationModel load_translation_model(const std::vector<std::string>& paths, const torch::Device& device,
                                        const std::string& name = "");

struct TranslateOptions {
  SearchOptions search;
  int batch_size = 64;
  double temperature = 1.0;  // attention temperature at inference (ScopedAttentionTemperature)
};

// A source line's tokens, cut to `limit` tokens (0: no limit) with a warning
// naming FILE:LINE: one over-long line must not cost the others their output.
std::vector<std::string> source_tokens(const TextModel& text, const std::string& line, size_t limit,
                                       const std::string& file, size_t line_no);

// One source: what the model read and its hypotheses, best first (none for
// a source without tokens).
struct TranslatedLine {
  std::vector<std::string> src_tokens;
  std::vector<Hypothesis> hyps;
};

// Decodes tokenised sources in length-sorted batches; results in order.
std::vector<TranslatedLine> translate_tokens(TranslationModel& m, std::vector<std::vector<std::string>> sources,
                                             const TranslateOptions& o);

// Forced decoding of (source tokens, target text) pairs: per pair the
// target's tokens and its score (log-probabilities per token, attention
// with keep_attention); pairs with an empty source get no score.
struct ScoredPair {
  std::vector<std::string> src_tokens, tgt_tokens;
  std::vector<int> tgt_ids;
  bool scored = false;
  SentenceScore score;
};
std::vector<ScoredPair> score_pairs(TranslationModel& m, const std::vector<std::vector<std::string>>& sources,
                                    const std::vector<std::string>& targets, int batch_size, bool keep_attention,
                                    double temperature = 1.0);

// The attention record of a decoded hypothesis, or of a forced decoding.
AttentionRecord hypothesis_record(const TranslationModel& m, int id, const std::vector<std::string>& src_tokens,
                                  const Hypothesis& h);
AttentionRecord forced_record(const TranslationModel& m, int id, const ScoredPair& p);

// What `attn translate` runs: lines in, the text it prints out (one line per
// source; n-best: INDEX ||| TEXT ||| SCORE lines), attention records kept
// when asked for, decoding time counted.
class Translator {
 public:
  Translator(TranslationModel& model, TranslateOptions options, std::string input_name)
      : model_(model), options_(std::move(options)), input_name_(std::move(input_name)) {}
  // Lines numbered first, first + 1, ... (0-based, as n-best indices).
  std::string translate(const std::vector<std::string>& lines, size_t first);
  void keep_records(std::vector<AttentionRecord>* records) {
    records_ = records;
    options_.search.keep_attention = records != nullptr;
  }
  double decode_seconds() const { return decode_seconds_; }
  size_t sentences() const { return sentences_; }

 private:
  TranslationModel& model_;
  TranslateOptions options_;
  std::string input_name_;  // for warnings: "<stdin>" or the file
  std::vector<AttentionRecord>* records_ = nullptr;
  double decode_seconds_ = 0;
  size_t sentences_ = 0;
};

// One n-best line: "INDEX ||| TEXT ||| SCORE" (score to 4 decimals), newline-terminated.
std::string nbest_line(const std::string& index, const std::string& text, double score);

}  // namespace attn
