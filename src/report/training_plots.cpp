#include "report/training_plots.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "eval/attention_record.h"
#include "util/run_dir.h"
#include "util/text_file.h"

namespace attn {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A line of valid_attention.jsonl back into a record (weights as written, 5 decimals).
AttentionRecord record_from(const json& j) {
  AttentionRecord r;
  r.id = j.value("id", 0);
  r.src = j.at("source").get<std::vector<std::string>>();
  r.tgt = j.at("target").get<std::vector<std::string>>();
  std::vector<float> flat;
  int64_t rows = 0, cols = 0;
  for (const auto& row : j.at("weights")) {
    ++rows;
    cols = static_cast<int64_t>(row.size());
    for (const auto& v : row) flat.push_back(v.get<float>());
  }
  r.weights = torch::tensor(flat).view({rows, cols});
  return r;
}

}  // namespace

TrainingCurves read_training_curves(const std::string& path) {
  TrainingCurves c;
  if (!fs::exists(path)) return c;
  for (const auto& line : read_lines(path)) {
    if (line.empty()) continue;
    json j = json::parse(line);
    double step = j.value("step", 0.0);
    if (j.contains("train_loss_curve")) {
      const auto& tc = j["train_loss_curve"];
      for (size_t k = 0; k < tc["step"].size(); ++k) {
        c.train_loss.x.push_back(tc["step"][k].get<double>());
        c.train_loss.y.push_back(tc["train_loss"][k].get<double>());
      }
    }
    if (j.contains("valid_loss")) c.valid_loss.x.push_back(step), c.valid_loss.y.push_back(j["valid_loss"].get<double>());
    auto add = [&](Series& s, const char* key, double scale) {
      if (j.contains(key)) s.x.push_back(step), s.y.push_back(j[key].get<double>() / scale);
    };
    add(c.exact, "valid_exact_match", 1);
    add(c.token_acc, "valid_greedy_token_accuracy", 1);
    add(c.bleu, "valid_bleu", 100);
    if (j.contains("attention_entropy")) {
      c.entropy.x.push_back(step);
      c.entropy.y.push_back(j["attention_entropy"].get<double>());
      size_t k = 0;
      for (auto it = j["attention_entropy_bands"].begin(); it != j["attention_entropy_bands"].end(); ++it, ++k) {
        if (c.bands.size() <= k) c.bands.push_back({"H " + it.key(), {}, {}});
        c.bands[k].x.push_back(step);
        c.bands[k].y.push_back(it.value().get<double>());
      }
    }
  }
  return c;
}

void write_training_plots(const std::string& run_dir, const std::string& scale) {
  TrainingCurves c = read_training_curves(RunDir(run_dir).metrics());
  std::vector<Series> loss;
  if (!c.train_loss.x.empty()) loss.push_back(c.train_loss);
  if (!c.valid_loss.x.empty()) loss.push_back(c.valid_loss);
  if (!loss.empty())
    write_file_atomic(run_dir + "/loss.svg",
                      line_plot_svg("Loss over training (nats per target token)", "update", "loss", loss, 0.0,
                                    plot_top(loss, 0.1)));
  if (!c.exact.x.empty())
    write_file_atomic(run_dir + "/valid_scores.svg",
                      line_plot_svg("Validation scores over training (greedy decoding)", "update", "score",
                                    {c.exact, c.token_acc, c.bleu}, 0.0, 1.0));
  if (!c.entropy.x.empty()) {
    write_file_atomic(run_dir + "/entropy.svg",
                      line_plot_svg("Mean attention entropy on validation (forced decoding)", "update", "H (nats)",
                                    {c.entropy}, 0.0, plot_top({c.entropy}, 0.5)));
    write_file_atomic(run_dir + "/entropy_bands.svg",
                      line_plot_svg("Share of target steps per entropy band (nats)", "update", "share", c.bands, 0.0,
                                    1.0));
  }
  // Small multiples: every tracked validation sentence at every validation.
  std::string va = RunDir(run_dir).valid_attention();
  if (!fs::exists(va)) return;
  std::map<int, std::vector<std::pair<long, AttentionRecord>>> by_sentence;
  for (const auto& line : read_lines(va)) {
    if (line.empty()) continue;
    json j = json::parse(line);
    by_sentence[j.value("id", 0)].emplace_back(j.value("step", 0L), record_from(j));
  }
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>attention over training: " << xml_escape(run_dir)
    << "</title><style>body{font-family:sans-serif;margin:20px}.row{display:flex;gap:8px;overflow-x:auto;"
       "align-items:flex-start}p{color:#555}</style></head><body>\n<h1>Attention over training: "
    << xml_escape(run_dir) << "</h1>\n<p>Each row is one validation sentence (greedy output of the model at that "
    << "update), left to right in training order: watch the attention sharpen.</p>\n";
  for (const auto& [id, recs] : by_sentence) {
    o << "<h2>validation sentence #" << id << "</h2>\n<div class=\"row\">";
    for (const auto& [step, r] : recs)
      o << "<div>" << heatmap_svg(r, "update " + std::to_string(step), scale) << "</div>";
    o << "</div>\n";
  }
  o << "</body></html>\n";
  write_file_atomic(run_dir + "/valid_attention.html", o.str());
}

}  // namespace attn
