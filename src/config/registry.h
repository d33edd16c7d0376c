// The model types and attention scores attn knows, one entry each: what
// config validation, the model factory, reports and benchmarks ask about
// them. Adding a score is its class (model/attention.h) and one
// register_score() entry (model/attention.cpp); nothing else names it.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"

namespace attn {

class AttentionImpl;  // model/attention.h: the config layer only carries the constructor

struct ModelType {
  std::string name, summary;
  bool attention;             // false: the fixed-vector bottleneck
  bool coverage;              // supports attention.coverage
  std::string default_score;  // the score it is built with when none fits (bench)
  bool output_reads_state;    // the output layer reads dec_hidden (else the readout): what tying must match
};

struct AttentionScore {
  std::string name, summary;
  std::vector<std::string> decoders;  // model types that may use it
  bool fits(const std::string& model_type) const;
  // A rule over the whole config: "" when it holds, else what is wrong (after
  // "model.attention.", e.g. "score: \"dot\" needs ...").
  std::function<std::string(const ModelConfig&, const DataConfig&)> check;
  // The module: query, key (encoder state) and attention sizes.
  std::function<std::shared_ptr<AttentionImpl>(const AttentionConfig&, int64_t query, int64_t key, int64_t attn)> make;
  // FLOPs of projecting S keys once, and of scoring one query against S keys
  // (without the context sum every score shares): benchmarks' GFLOP/s.
  std::function<std::pair<double, double>(const ModelConfig&, double S)> flops;
  // Longest source in tokens (without EOS) it can read; 0: any.
  std::function<int64_t(const AttentionConfig&)> max_source_tokens;
};

const std::vector<ModelType>& model_types();
// The entry of a model type or score; nullptr if unknown.
const ModelType* find_model_type(const std::string& name);
const AttentionScore* find_score(const std::string& name);
const std::vector<AttentionScore>& attention_scores();
// Adds (or, by name, replaces) a score; true, so a file can register at
// static initialisation.
bool register_score(AttentionScore score);
// Whether the model's type attends (false: the bottleneck, or an unknown type).
bool attends(const ModelConfig& m);
// "none" for a model without attention, else its score: for logs and reports.
std::string attention_name(const ModelConfig& m);

}  // namespace attn
