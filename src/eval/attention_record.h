// One sentence's attention as dumped and drawn: tokens, weights, entropies.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/alignment.h"

namespace attn {

struct AttentionRecord {
  int id = 0;
  std::vector<std::string> src;  // source tokens, then "</s>": one per weight column
  std::vector<std::string> tgt;  // target tokens: one per weight row
  torch::Tensor weights;         // [T, S] float CPU
  torch::Tensor eos_weights;     // [S]: the step that emitted EOS (drawn as a last "</s>" row), or undefined
  std::optional<GoldAlignment> gold;
  std::vector<std::string> reference;  // the reference's tokens, when known (evaluate, compare)
  std::string model;                   // model_summary() of the model that made it, when known
  std::optional<double> score;         // the hypothesis's search score (log-prob / length penalty)
  // A line of alignments.jsonl, format kAttentionFormat (docs/formats.md).
  nlohmann::json to_json() const;
};

inline constexpr const char* kAttentionFormat = "attn.attention/2";

// Records to PATH as JSON lines (the whole file written atomically).
void write_alignments_jsonl(const std::string& path, const std::vector<AttentionRecord>& records,
                            const nlohmann::json& extra = nlohmann::json::object());

}  // namespace attn
