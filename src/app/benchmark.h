// Timing of training updates and decoding on synthetic batches, for
// scripts/bench*.sh and the closing numbers of performance work. Medians
// over repeats, warm-up excluded. Never used by tests as a pass/fail bound.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "config/config.h"

namespace attn {

struct BenchOptions {
  std::string what = "train";  // train | greedy | beam
  int batch = 64;
  int min_len = 30, max_len = 30;  // source lengths; targets the same (reverse task)
  int vocab = 1000;
  int beam = 5;
  int warmup = 3, repeats = 10;
  int distinct = 20;  // at most this many distinct batches, reused in turn (long leak runs)
  int seed = 1;
  bool keep_attention = false;  // greedy/beam: copy attention out, as dumps and the server's "attention" do
};

// One JSON object: model, parameters, median ms per batch, tokens/s or
// sentences/s, peak RSS, threads, and the resident set after 10 % and after
// 100 % of the timed batches (their difference shows a leak).
nlohmann::json run_benchmark(const ModelConfig& model, const BenchOptions& o);

// Peak resident set size of this process so far, in MiB.
double peak_rss_mib();
// Resident set size now, in MiB (0 where /proc is missing).
double current_rss_mib();

}  // namespace attn
