#include "config/registry.h"

#include <algorithm>

namespace attn {

namespace {
std::vector<ModelType>& types() {
  static std::vector<ModelType> t;  // filled by register_model_type (model/seq2seq.cpp)
  return t;
}
}  // namespace

const std::vector<ModelType>& model_types() { return types(); }

const ModelType* find_model_type(const std::string& name) {
  const auto& t = types();
  auto it = std::find_if(t.begin(), t.end(), [&](const ModelType& m) { return m.name == name; });
  return it == t.end() ? nullptr : &*it;
}

bool register_model_type(ModelType type) {
  auto& t = types();
  auto it = std::find_if(t.begin(), t.end(), [&](const ModelType& m) { return m.name == type.name; });
  if (it != t.end()) *it = std::move(type);
  else t.push_back(std::move(type));
  return true;
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

namespace {
std::vector<ValidationMetric>& metrics() {
  static std::vector<ValidationMetric> m;  // filled by register_metric (eval/validation.cpp)
  return m;
}
}  // namespace

const std::vector<ValidationMetric>& validation_metrics() { return metrics(); }

const ValidationMetric* find_metric(const std::string& name) {
  const auto& m = metrics();
  auto it = std::find_if(m.begin(), m.end(), [&](const ValidationMetric& x) { return x.name == name; });
  return it == m.end() ? nullptr : &*it;
}

bool register_metric(ValidationMetric metric) {
  auto& m = metrics();
  auto it = std::find_if(m.begin(), m.end(), [&](const ValidationMetric& x) { return x.name == metric.name; });
  if (it != m.end()) *it = std::move(metric);
  else m.push_back(std::move(metric));
  return true;
}

std::vector<std::string> metric_names() {
  std::vector<std::string> n;
  for (const auto& m : metrics()) n.push_back(m.name);
  return n;
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
  if (std::find(decoders.begin(), decoders.end(), model_type) != decoders.end()) return true;
  const ModelType* t = find_model_type(model_type);
  return t && std::find(t->scores.begin(), t->scores.end(), name) != t->scores.end();
}

bool attends(const ModelConfig& m) {
  const ModelType* t = find_model_type(m.type);
  return t && t->attention;
}

std::string attention_name(const ModelConfig& m) { return attends(m) ? m.attention.score : "none"; }

}  // namespace attn
