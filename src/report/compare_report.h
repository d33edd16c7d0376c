// The files of an `attn compare` report directory.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"
#include "eval/attention_record.h"

namespace attn {

struct ModelResult {
  std::string name;
  Config config;
  nlohmann::json summary;  // from training: steps, seconds, tokens/s, parameters
  nlohmann::json test;     // evaluate_model metrics
  std::vector<AttentionRecord> records;
  std::vector<std::vector<std::string>> references;  // test references as this model's tokens, corpus order
  std::string metrics_path;  // the model's metrics.jsonl
  std::string checkpoint;    // what was evaluated: "best.ckpt" or "last.ckpt"
  int64_t checkpoint_step = 0;
};

// Writes results.json, report.md, accuracy_vs_length.svg, bleu_vs_length.svg,
// attention.html and entropy.json into DIR; returns results.json's content.
nlohmann::json write_compare_report(const std::string& dir, const Config& base, const std::vector<ModelResult>& models);

std::string compare_table(const nlohmann::json& results);

// Mean attention entropy per validation step, read from a run's
// metrics.jsonl (empty if there is none).
nlohmann::json entropy_over_training(const std::string& metrics_path);

}  // namespace attn
