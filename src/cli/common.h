// What every subcommand shares: global options, logging, exit codes.
#pragma once
#include <CLI/CLI.hpp>
#include <c10/core/Device.h>

#include <functional>
#include <string>

#include "config/config.h"
#include "data/pipeline.h"
#include "eval/attention_record.h"

namespace attn::cli {

enum ExitCode { kOk = 0, kRuntimeError = 1, kUsageError = 2 };

struct Globals {
  std::string log_level = "info";
  int threads = 1;
  int seed = -1;  // -1: the config's
  std::string log_file;  // set by subcommands that have a run directory
  double before_main_seconds = -1;  // process age when main() began: library load and static initialisation
};

// Each subcommand file registers itself: adds its options to `app` and sets
// `run` to the function that does the work once parsing succeeded.
using Runner = std::function<int()>;
void add_train(CLI::App& app, Globals& g, Runner& run);
void add_evaluate(CLI::App& app, Globals& g, Runner& run);
void add_translate(CLI::App& app, Globals& g, Runner& run);
void add_compare(CLI::App& app, Globals& g, Runner& run);
void add_data(CLI::App& app, Globals& g, Runner& run);
void add_config(CLI::App& app, Globals& g, Runner& run);
void add_info(CLI::App& app, Globals& g, Runner& run);
void add_bench(CLI::App& app, Globals& g, Runner& run);
void add_average(CLI::App& app, Globals& g, Runner& run);
void add_score(CLI::App& app, Globals& g, Runner& run);
void add_serve(CLI::App& app, Globals& g, Runner& run);

// Option checks whose refusals read like attn's other errors (CLI11's own
// print "0 not in range 0.000000 to 1.797e308"): "must be from 1 to 256 (got 0)".
CLI::Validator in_range(double lo, double hi);
CLI::Validator at_least(double lo);
CLI::Validator existing_file();

// Console logger (stderr) plus, if given, a file sink.
void setup_logging(const Globals& g, const std::string& file = "");

// Config from a file with --set overrides and --seed applied.
Config load_config_with(const std::string& path, const std::vector<std::string>& sets, const Globals& g);

// Decode and output settings for evaluate/translate: the checkpoint's own,
// replaced by the sections of --config when one is given.
void decode_settings(const Config& checkpoint, const std::string& config_path, const Globals& g, DecodeConfig& d,
                     OutputConfig& out);

// --draw and --scale: how many sentences attention.html draws, and its colour
// map; unset, the output config's.
struct DrawOptions {
  int draw = -1;
  std::string scale;
};
void add_draw_options(CLI::App* sub, DrawOptions& o);
// alignments.jsonl, attention.html and SVGs of `records` in dir, and a log line.
void write_attention(const std::string& dir, const std::string& title, const std::vector<AttentionRecord>& records,
                     const DrawOptions& o, const OutputConfig& out);

// "cpu", "cuda", "cuda:N" as a device; ConfigError if this build (CPU-only
// LibTorch) or machine does not have it.
c10::Device resolve_device(const std::string& spec);

// What `attn --version` prints: attn's version, the LibTorch it was built
// with (CPU only or with CUDA), and the BLAS it runs on (library, core, file).
std::string version_text();

// `text` into PATH (atomically) or, for "-", onto standard output, flushed;
// a failed write (full disk, closed stdout) throws DataError ("cannot write
// WHAT to standard output"), never passes for success.
void write_output(const std::string& path, const std::string& text, const std::string& what);

// SIGINT/SIGTERM/SIGHUP set attn::stop_requested(); a second SIGINT or SIGTERM
// exits at once. SIGHUP stays ignored when the parent ignored it (nohup).
void install_stop_handlers();
// The signal that asked to stop (0: none).
int stop_signal();

int main(int argc, char** argv);

}  // namespace attn::cli
