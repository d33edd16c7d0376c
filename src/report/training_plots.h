// Training dynamics drawn from a run directory's own records, so a person
// can watch a model learn and its attention sharpen without a notebook.
#pragma once
#include <nlohmann/json.hpp>
#include <map>
#include <string>
#include <vector>

#include "config/registry.h"
#include "report/svg.h"

namespace attn {

// Series read from RUN/metrics.jsonl: the train loss at every log step,
// validation loss, mean attention entropy (nats) and each entropy band's
// share, one point per validation. Empty series where a run has no such field.
struct TrainingCurves {
  Series train_loss{"train loss", {}, {}}, valid_loss{"validation loss", {}, {}}, entropy{"mean H (nats)", {}, {}};
  // The registered validation metrics (config/registry.h) the file has, in
  // registry order, named by their legend, values / plot_scale: those that
  // join loss.svg, and those that join valid_scores.svg.
  std::vector<Series> loss_metrics, score_metrics;
  std::vector<Series> bands;  // one per entropy band, in band order
  // A metric's series by its legend; nullptr if the file has none.
  const Series* metric(const std::string& label) const;
};
TrainingCurves read_training_curves(const std::string& metrics_path);

// The curves, one metrics.jsonl line at a time.
class CurveReader {
 public:
  CurveReader();
  void add(const nlohmann::json& metrics_line);
  TrainingCurves curves() const;

 private:
  TrainingCurves c_;
  std::vector<std::pair<const ValidationMetric*, Series>> plotted_;  // one per plotted metric
};

// RUN/loss.svg, RUN/valid_scores.svg, RUN/entropy.svg, RUN/entropy_bands.svg
// (the last two only with attention) and RUN/valid_attention.html: each
// tracked validation sentence's attention at every validation, side by side.
// Kept up to date by the trainer one validation at a time: nothing earlier is
// read or drawn again, so a validation costs the same at update 100 and
// 100,000 (only the files' own writing grows with them).
class TrainingPlots {
 public:
  // What the run directory already holds (a resumed run), read once.
  TrainingPlots(std::string run_dir, std::string scale = "linear");
  void add_metrics(const nlohmann::json& metrics_line);
  void add_attention(const nlohmann::json& valid_attention_line);  // drawn here, once
  void write() const;

 private:
  std::string run_dir_, scale_;
  CurveReader curves_;
  std::map<int, std::string> maps_;  // per tracked sentence: its maps so far, drawn
};

// All of it from the run directory's files at once.
void write_training_plots(const std::string& run_dir, const std::string& scale = "linear");

}  // namespace attn
