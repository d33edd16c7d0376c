#include "eval/attention_record.h"

#include <cmath>
#include <set>

#include "eval/entropy.h"
#include "util/text_file.h"

namespace attn {

nlohmann::json AttentionRecord::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  auto w = weights.to(torch::kDouble).contiguous();
  auto a = w.accessor<double, 2>();
  for (int64_t t = 0; t < w.size(0); ++t) {
    nlohmann::json r = nlohmann::json::array();
    for (int64_t s = 0; s < w.size(1); ++s) r.push_back(std::round(a[t][s] * 1e5) / 1e5);
    rows.push_back(r);
  }
  auto h = row_entropies(w);
  double logm = std::log(static_cast<double>(std::max<int64_t>(w.size(1), 1)));
  nlohmann::json hn = nlohmann::json::array();
  for (double x : h) hn.push_back(logm > 0 ? x / logm : 0.0);
  // Links as [source, target] pairs of 0-based positions: lists, not strings,
  // so a table library needs no parser.
  auto pairs = [](const auto& links) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& [s, t] : links) a.push_back({s, t});
    return a;
  };
  nlohmann::json j = {{"format", kAttentionFormat},
                      {"id", id},
                      {"source", src},
                      {"target", tgt},
                      {"weights", rows},
                      {"entropy", h},
                      {"entropy_normalised", hn},
                      {"hard_links", pairs(hard_alignment(w, static_cast<int>(src.size()) - 1))}};
  if (gold) {
    std::set<std::pair<int, int>> possible_only;
    for (const auto& l : gold->possible)
      if (!gold->sure.count(l)) possible_only.insert(l);
    j["gold_sure"] = pairs(gold->sure);
    j["gold_possible"] = pairs(possible_only);
  }
  if (!reference.empty()) {
    j["reference"] = reference;
    j["correct"] = reference == tgt;
  }
  if (!model.empty()) j["model"] = model;
  if (score) j["score"] = *score;
  if (eos_weights.defined()) {  // the step that emitted EOS: not a word, so not among the rows above
    nlohmann::json e = nlohmann::json::array();
    auto ew = eos_weights.to(torch::kDouble).contiguous();
    for (int64_t s = 0; s < ew.size(0); ++s) e.push_back(std::round(ew[s].item<double>() * 1e5) / 1e5);
    j["eos_weights"] = e;
  }
  return j;
}

void write_alignments_jsonl(const std::string& path, const std::vector<AttentionRecord>& records,
                            const nlohmann::json& extra) {
  std::string out;
  for (const auto& r : records) {
    nlohmann::json j = r.to_json();
    for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
    out += j.dump() + "\n";
  }
  write_file_atomic(path, out);
}

}  // namespace attn
