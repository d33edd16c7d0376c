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
  std::optional<GoldAlignment> gold;
  nlohmann::json to_json() const;  // a line of alignments.jsonl
};

// Append records to PATH as JSON lines (whole file rewritten atomically).
void write_alignments_jsonl(const std::string& path, const std::vector<AttentionRecord>& records,
                            const nlohmann::json& extra = nlohmann::json::object());

}  // namespace attn
