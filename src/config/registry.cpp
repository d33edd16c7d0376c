#include "config/registry.h"

#include <algorithm>

namespace attn {

namespace {
// The three registries are lists of entries looked up by name.
template <class Entry>
const Entry* find_named(const std::vector<Entry>& entries, const std::string& name) {
  auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.name == name; });
  return it == entries.end() ? nullptr : &*it;
}

// Adds the entry, or replaces the one of its name; true, for static initialisation.
template <class Entry>
bool put_named(std::vector<Entry>& entries, Entry entry) {
  auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.name == entry.name; });
  if (it != entries.end()) *it = std::move(entry);
  else entries.push_back(std::move(entry));
  return true;
}

std::vector<ModelType>& types() {
  static std::vector<ModelType> t;  // filled by register_model_type (model/seq2seq.cpp)
  return t;
}
}  // namespace

const std::vector<ModelType>& model_types() { return types(); }

const ModelType* find_model_type(const std::string& name) { return find_named(types(), name); }

bool register_model_type(ModelType type) { return put_named(types(), std::move(type)); }

namespace {
std::vector<AttentionScore>& scores() {
  static std::vector<AttentionScore> s;  // filled by register_score (model/attention.cpp)
  return s;
}
}  // namespace

const std::vector<AttentionScore>& attention_scores() { return scores(); }

const AttentionScore* find_score(const std::string& name) { return find_named(scores(), name); }

bool register_score(AttentionScore score) { return put_named(scores(), std::move(score)); }

namespace {
std::vector<ValidationMetric>& metrics() {
  static std::vector<ValidationMetric> m;  // filled by register_metric (eval/validation.cpp)
  return m;
}
}  // namespace

const std::vector<ValidationMetric>& validation_metrics() { return metrics(); }

const ValidationMetric* find_metric(const std::string& name) { return find_named(metrics(), name); }

bool register_metric(ValidationMetric metric) { return put_named(metrics(), std::move(metric)); }

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
