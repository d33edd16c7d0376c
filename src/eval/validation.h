// What one validation pass computed, and the validation metrics read from
// it: the built-in entries of the metric registry (config/registry.h) live
// in validation.cpp, one register_metric() each. The trainer, the console
// line, summary.json and the training plots all read the registry, so a new
// metric is one entry.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/registry.h"
#include "eval/evaluator.h"

namespace attn {

struct ValidationPass {
  const ForcedScores& forced;         // teacher-forced loss, accuracy, attention entropy
  const std::vector<std::string>& hyps;  // greedy output, detokenised, in corpus order
  const std::vector<std::string>& refs;  // the references
  const nlohmann::json& translation;  // translation_metrics(hyps, refs, ...): bleu, chrf, exact_match, token_accuracy
};

// Every registered metric of the pass under its key ("valid_bleu": 12.3).
nlohmann::json validation_metric_values(const ValidationPass& pass);

// The registered metrics of a metrics.jsonl line that have a console name,
// in registry order: "loss 1.234 | ppl 3.44 | BLEU 12.30 | chrF 40.10 | exact 0.125".
std::string validation_summary(const nlohmann::json& line);

// The metric train.metric names; a ConfigError naming the known ones if none.
const ValidationMetric& metric_named(const std::string& name);

}  // namespace attn
