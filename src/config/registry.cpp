#include "config/registry.h"

#include <algorithm>

namespace attn {

const std::vector<ModelType>& model_types() {
  static const std::vector<ModelType> types = {
      {"bahdanau", "Bahdanau RNNsearch", true, true, "additive", false},
      {"luong", "Luong", true, false, "general", true},
      {"bottleneck", "fixed-bottleneck (no attention)", false, false, "", false},
  };
  return types;
}

const ModelType* find_model_type(const std::string& name) {
  const auto& t = model_types();
  auto it = std::find_if(t.begin(), t.end(), [&](const ModelType& m) { return m.name == name; });
  return it == t.end() ? nullptr : &*it;
}

namespace {
std::vector<AttentionScore>& scores() {
  static std::vector<AttentionScore> s;  // filled by register_score (model/attention.cpp)
  return s;
}
}  // namespace

const std::vector<AttentionScore>& attention_scores() { return scores(); }

const AttentionScore* find_score(const std::string& name) {
  const auto& s = scores();
  auto it = std::find_if(s.begin(), s.end(), [&](const AttentionScore& a) { return a.name == name; });
  return it == s.end() ? nullptr : &*it;
}

bool register_score(AttentionScore score) {
  auto& s = scores();
  auto it = std::find_if(s.begin(), s.end(), [&](const AttentionScore& a) { return a.name == score.name; });
  if (it != s.end()) *it = std::move(score);
  else s.push_back(std::move(score));
  return true;
}

std::vector<std::string> model_type_names() {
  std::vector<std::string> n;
  for (const auto& t : model_types()) n.push_back(t.name);
  return n;
}

std::vector<std::string> attention_score_names() {
  std::vector<std::string> n;
  for (const auto& s : scores()) n.push_back(s.name);
  return n;
}

bool AttentionScore::fits(const std::string& model_type) const {
  return std::find(decoders.begin(), decoders.end(), model_type) != decoders.end();
}

bool attends(const ModelConfig& m) {
  const ModelType* t = find_model_type(m.type);
  return t && t->attention;
}

std::string attention_name(const ModelConfig& m) { return attends(m) ? m.attention.score : "none"; }

}  // namespace attn
