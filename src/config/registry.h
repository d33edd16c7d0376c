// The model types, attention scores and validation metrics attn knows, one
// entry each: what config validation, the model factory, the trainer,
// reports and benchmarks ask about them. Adding a score is its class
// (model/attention.h) and one register_score() entry (model/attention.cpp);
// a metric is one register_metric() entry (eval/validation.cpp); nothing
// else names them.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"

namespace torch::nn {
class EmbeddingImpl;  // the shared embedding a decoder may be built with
}

namespace attn {

class AttentionImpl;  // model/attention.h: the config layer only carries the constructors
class DecoderImpl;    // model/decoder.h

// A decoder (model.type). Adding one is its class (model/decoder.h's
// interface) and one register_model_type() entry; search, training, config
// validation and the FLOP count read only this.
struct ModelType {
  std::string name, summary;
  bool attention;             // false: the fixed-vector bottleneck
  bool coverage;              // supports attention.coverage
  std::string default_score;  // the score it is built with when none fits (bench)
  bool output_reads_state;    // the output layer reads dec_hidden (else the readout): what tying must match
  std::vector<std::string> scores;  // scores it takes besides those whose entry names it
  // The module: target vocabulary size and, with tie_embeddings "all", the
  // encoder's embedding to share (else null).
  std::function<std::shared_ptr<DecoderImpl>(const ModelConfig&, int64_t tgt_vocab,
                                             const std::shared_ptr<torch::nn::EmbeddingImpl>& shared)>
      make;
  // FLOPs of T decoder rows (target steps x beams) over V words, beyond the
  // encoder and the attention scores and contexts: its initial state, cell,
  // readout and output layer (model/flops.h).
  std::function<double(const ModelConfig&, double T, double V)> flops;
};

struct AttentionScore {
  std::string name, summary;
  std::vector<std::string> decoders;  // model types that may use it
  // Whether model_type may use it: named here, or the type's entry names it.
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
// Adds (or, by name, replaces) a decoder; true, as register_score.
bool register_model_type(ModelType type);
// The entry of a model type or score; nullptr if unknown.
const ModelType* find_model_type(const std::string& name);
const AttentionScore* find_score(const std::string& name);
const std::vector<AttentionScore>& attention_scores();
// Adds (or, by name, replaces) a score; true, so a file can register at
// static initialisation.
bool register_score(AttentionScore score);
struct ValidationPass;  // eval/validation.h: what one validation computed

// A number the trainer computes at every validation: logged to metrics.jsonl
// under `key`, printed, plotted, and selectable as train.metric (best
// checkpoints, plateau, early stopping follow its direction).
struct ValidationMetric {
  std::string name;      // what train.metric names, e.g. "bleu"
  std::string key;       // its field in metrics.jsonl and summary.json, e.g. "valid_bleu"
  std::string summary;   // one line for config help and docs
  bool lower_is_better;  // loss, perplexity, TER: the lowest is the best
  std::function<double(const ValidationPass&)> compute;
  std::string console;   // its name on the validation log line ("BLEU"); "" leaves it off
  int decimals;          // digits after the point there
  std::string plot;      // "loss": loss.svg beside the train loss; "scores": valid_scores.svg; "": no plot
  std::string label;     // the plot's legend
  double plot_scale;     // plotted as value / plot_scale (BLEU / 100 on a 0-1 axis)
  // True if `a` is a better value than `b`.
  bool better(double a, double b) const { return lower_is_better ? a < b : a > b; }
};

const std::vector<ValidationMetric>& validation_metrics();
const ValidationMetric* find_metric(const std::string& name);
// Adds (or, by name, replaces) a metric; true, so a file can register at
// static initialisation.
bool register_metric(ValidationMetric metric);

// Whether the model's type attends (false: the bottleneck, or an unknown type).
bool attends(const ModelConfig& m);
// "none" for a model without attention, else its score: for logs and reports.
std::string attention_name(const ModelConfig& m);

}  // namespace attn
