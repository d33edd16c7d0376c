#include "eval/validation.h"

#include <spdlog/fmt/fmt.h>

namespace attn {

using json = nlohmann::json;

namespace {

double translation(const ValidationPass& p, const char* key) { return p.translation.at(key).get<double>(); }

// The built-in metrics, in the order the console, the plots' legends and
// docs/formats.md list them. Registered here, in a file the trainer calls,
// so the static archive's linker keeps it.
[[maybe_unused]] const bool kBuiltIn =
    register_metric({"loss", "valid_loss", "teacher-forced cross-entropy, nats per target token", true,
                     [](const ValidationPass& p) { return p.forced.loss(); }, "loss", 3, "loss", "validation loss", 1}) &&
    register_metric({"ppl", "valid_ppl", "teacher-forced perplexity", true,
                     [](const ValidationPass& p) { return p.forced.perplexity(); }, "ppl", 2, "", "perplexity", 1}) &&
    register_metric({"accuracy", "valid_token_accuracy", "teacher-forced token accuracy", false,
                     [](const ValidationPass& p) { return p.forced.token_accuracy(); }, "", 3, "", "forced token accuracy",
                     1}) &&
    register_metric({"exact_match", "valid_exact_match", "share of greedy outputs equal to the reference", false,
                     [](const ValidationPass& p) { return translation(p, "exact_match"); }, "exact", 3, "scores",
                     "exact match", 1}) &&
    register_metric({"greedy_accuracy", "valid_greedy_token_accuracy",
                     "token accuracy of greedy outputs against the reference, position by position", false,
                     [](const ValidationPass& p) { return translation(p, "token_accuracy"); }, "", 3, "scores",
                     "token accuracy", 1}) &&
    register_metric({"bleu", "valid_bleu", "corpus BLEU of greedy decoding (sacreBLEU's defaults)", false,
                     [](const ValidationPass& p) { return translation(p, "bleu"); }, "BLEU", 2, "scores", "BLEU / 100",
                     100}) &&
    register_metric({"chrf", "valid_chrf", "corpus chrF2 of greedy decoding", false,
                     [](const ValidationPass& p) { return translation(p, "chrf"); }, "chrF", 2, "", "chrF", 1});

}  // namespace

json validation_metric_values(const ValidationPass& pass) {
  json v = json::object();
  for (const auto& m : validation_metrics()) v[m.key] = m.compute(pass);
  return v;
}

std::string validation_summary(const json& line) {
  std::string s;
  for (const auto& m : validation_metrics()) {
    if (m.console.empty() || !line.contains(m.key)) continue;
    if (!s.empty()) s += " | ";
    s += fmt::format("{} {:.{}f}", m.console, line[m.key].get<double>(), m.decimals);
  }
  return s;
}

const ValidationMetric& metric_named(const std::string& name) {
  if (const ValidationMetric* m = find_metric(name)) return *m;
  std::string known;
  for (const auto& n : metric_names()) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError({"train.metric: unknown metric \"" + name + "\" (known: " + known + ")"});
}

}  // namespace attn
