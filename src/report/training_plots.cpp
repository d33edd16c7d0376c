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

const Series* TrainingCurves::metric(const std::string& label) const {
  for (const auto* group : {&loss_metrics, &score_metrics})
    for (const auto& s : *group)
      if (s.name == label) return &s;
  return nullptr;
}

CurveReader::CurveReader() {
  for (const auto& m : validation_metrics())
    if (!m.plot.empty()) plotted_.push_back({&m, Series{m.label, {}, {}}});
}

void CurveReader::add(const json& j) {
  TrainingCurves& c = c_;
  double step = j.value("step", 0.0);
  if (j.contains("train_loss_curve")) {
    const auto& tc = j["train_loss_curve"];
    for (size_t k = 0; k < tc["step"].size(); ++k) {
      c.train_loss.x.push_back(tc["step"][k].get<double>());
      c.train_loss.y.push_back(tc["train_loss"][k].get<double>());
    }
  }
  for (auto& [m, s] : plotted_)
    if (j.contains(m->key)) s.x.push_back(step), s.y.push_back(j[m->key].get<double>() / m->plot_scale);
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

TrainingCurves CurveReader::curves() const {
  TrainingCurves c = c_;
  for (const auto& [m, s] : plotted_) {
    if (s.x.empty()) continue;
    if (m->key == "valid_loss") c.valid_loss = s;  // the one every run has: compare overlays it
    else (m->plot == "loss" ? c.loss_metrics : c.score_metrics).push_back(s);
  }
  return c;
}

TrainingCurves read_training_curves(const std::string& path) {
  CurveReader r;
  if (!fs::exists(path)) return r.curves();
  for (const auto& line : read_lines(path))
    if (!line.empty()) r.add(json::parse(line));
  return r.curves();
}

TrainingPlots::TrainingPlots(std::string run_dir, std::string scale)
    : run_dir_(std::move(run_dir)), scale_(std::move(scale)) {
  RunDir d(run_dir_);
  if (fs::exists(d.metrics()))
    for (const auto& line : read_lines(d.metrics()))
      if (!line.empty()) add_metrics(json::parse(line));
  if (fs::exists(d.valid_attention()))
    for (const auto& line : read_lines(d.valid_attention()))
      if (!line.empty()) add_attention(json::parse(line));
}

void TrainingPlots::add_metrics(const json& line) { curves_.add(line); }

void TrainingPlots::add_attention(const json& j) {
  // Drawn once, from the record as valid_attention.jsonl holds it (5 decimals).
  maps_[j.value("id", 0)] +=
      "<div>" + heatmap_svg(record_from(j), "update " + std::to_string(j.value("step", 0L)), scale_) + "</div>";
}

void TrainingPlots::write() const {
  const std::string& run_dir = run_dir_;
  TrainingCurves c = curves_.curves();
  std::vector<Series> loss;
  if (!c.train_loss.x.empty()) loss.push_back(c.train_loss);
  if (!c.valid_loss.x.empty()) loss.push_back(c.valid_loss);
  loss.insert(loss.end(), c.loss_metrics.begin(), c.loss_metrics.end());
  if (!loss.empty())
    write_file_atomic(run_dir + "/loss.svg",
                      line_plot_svg("Loss over training (nats per target token)", "update", "loss", loss, 0.0,
                                    plot_top(loss, 0.1)));
  if (!c.score_metrics.empty()) {
    // 0-1 for shares and BLEU / 100; higher where a metric's values go above.
    double top = 1.0;
    for (const auto& s : c.score_metrics)
      for (double y : s.y) top = std::max(top, y);
    write_file_atomic(run_dir + "/valid_scores.svg",
                      line_plot_svg("Validation scores over training (greedy decoding)", "update", "score",
                                    c.score_metrics, 0.0, top > 1.0 ? plot_top(c.score_metrics, 1.0) : 1.0));
  }
  if (!c.entropy.x.empty()) {
    write_file_atomic(run_dir + "/entropy.svg",
                      line_plot_svg("Mean attention entropy on validation (forced decoding)", "update", "H (nats)",
                                    {c.entropy}, 0.0, plot_top({c.entropy}, 0.5)));
    write_file_atomic(run_dir + "/entropy_bands.svg",
                      line_plot_svg("Share of target steps per entropy band (nats)", "update", "share", c.bands, 0.0,
                                    1.0));
  }
  // Small multiples: every tracked validation sentence at every validation.
  if (maps_.empty()) return;
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>attention over training: " << xml_escape(run_dir)
    << "</title><style>body{font-family:sans-serif;margin:20px}.row{display:flex;gap:8px;overflow-x:auto;"
       "align-items:flex-start}p{color:#555}</style></head><body>\n<h1>Attention over training: "
    << xml_escape(run_dir) << "</h1>\n<p>Each row is one validation sentence (greedy output of the model at that "
    << "update), left to right in training order: watch the attention sharpen.</p>\n";
  for (const auto& [id, maps] : maps_) o << "<h2>validation sentence #" << id << "</h2>\n<div class=\"row\">" << maps << "</div>\n";
  o << "</body></html>\n";
  write_file_atomic(run_dir + "/valid_attention.html", o.str());
}

void write_training_plots(const std::string& run_dir, const std::string& scale) { TrainingPlots(run_dir, scale).write(); }

}  // namespace attn
