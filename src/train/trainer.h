// The training loop: batches, updates, validation, metrics.jsonl,
// checkpoints (last + best N), early stopping, exact resume, and a clean
// stop on request (SIGINT/SIGTERM set stop_requested()).
#pragma once
#include <torch/torch.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>

#include "config/config.h"
#include "train/distributed.h"

namespace attn {

struct TrainProgress {
  int64_t step = 0, max_steps = 0;
  int epoch = 0;
  double loss = 0;             // running mean since the last validation
  double tokens_per_sec = 0;   // target tokens
  double gflops_per_sec = 0;   // model FLOPs (model/flops.h) per second of update time
  double lr = 0;
  int64_t steps_to_valid = 0;
  double eta_valid_sec = 0;
};

class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_progress(const TrainProgress&) {}
  virtual void on_validation(const nlohmann::json&) {}
};

struct TrainOptions {
  std::string run_dir;
  bool resume = false;
  // Start again in a run directory that holds checkpoints, deleting them
  // (without it such a directory is refused: resume it, or say so).
  bool overwrite = false;
  int64_t stop_at_step = 0;  // act as if interrupted after this update (tests)
  torch::Device device = torch::kCPU;
  TrainObserver* observer = nullptr;
  DistOptions dist;  // world > 1: data-parallel with the other ranks
};

struct TrainResult {
  bool interrupted = false;
  bool early_stopped = false;
  std::string already_finished;  // --resume of a finished run: why it had ended; nothing was changed
  int64_t steps = 0;
  nlohmann::json last_validation, best_validation;
  std::string last_checkpoint, best_checkpoint;
  double train_seconds = 0;   // time in updates (not validation)
  double tokens_per_sec = 0;  // target tokens per second of update time
  double gflops_per_sec = 0;  // model FLOPs per second of update time (model/flops.h)
  int64_t parameters = 0;
};

// Training stopped because the loss became non-finite or exploded; nothing
// from the diverged model was saved.
class DivergedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Set from a signal handler; the loop finishes the current update, writes
// `last`, and returns with interrupted = true.
std::atomic<bool>& stop_requested();

TrainResult train(const Config& config, const TrainOptions& opts);


}  // namespace attn
