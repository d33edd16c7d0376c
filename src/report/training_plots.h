// Training dynamics drawn from a run directory's own records, so a person
// can watch a model learn and its attention sharpen without a notebook.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report/svg.h"

namespace attn {

// Series read from RUN/metrics.jsonl: the train loss at every log step,
// validation loss, mean attention entropy (nats) and each entropy band's
// share, one point per validation. Empty series where a run has no such field.
struct TrainingCurves {
  Series train_loss{"train loss", {}, {}}, valid_loss{"validation loss", {}, {}}, entropy{"mean H (nats)", {}, {}};
  // Greedy decoding of the validation set, each on 0-1: exact match, token accuracy, BLEU / 100.
  Series exact{"exact match", {}, {}}, token_acc{"token accuracy", {}, {}}, bleu{"BLEU / 100", {}, {}};
  std::vector<Series> bands;  // one per entropy band, in band order
};
TrainingCurves read_training_curves(const std::string& metrics_path);

// Writes RUN/loss.svg, RUN/valid_scores.svg, RUN/entropy.svg, RUN/entropy_bands.svg (the last two
// only with attention) and RUN/valid_attention.html: each tracked validation
// sentence's attention at every validation, side by side.
void write_training_plots(const std::string& run_dir, const std::string& scale = "linear");

}  // namespace attn
