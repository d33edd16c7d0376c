// Dispatch: the subcommand table, global options, and the one place where
// exceptions become messages and exit codes.
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <ATen/Context.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <unistd.h>

#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <optional>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>

#include "blas/blas_probe.h"
#include "cli/common.h"
#include "cli/status_line.h"
#include "ops/kernels.h"
#include "report/svg.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/trainer.h"
#include "util/errors.h"
#include "util/process_time.h"
#include "util/text_file.h"

namespace attn::cli {

namespace {
std::shared_ptr<StatusLineSink> g_status_line;  // null when stderr is not a terminal
}  // namespace

StatusLineSink* status_line() { return g_status_line.get(); }

namespace {
std::string number_text(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", x);
  return buf;
}

// nullopt when `s` is not a finite number.
std::optional<double> as_number(const std::string& s) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  return v;
}

// One check for both wordings: `bounds` is "from 1 to 256" or "at least 1";
// `sep` joins it to "expected a number" (" " or ", ").
CLI::Validator number_check(double lo, double hi, const std::string& bounds, const char* sep,
                            const std::string& description) {
  return CLI::Validator(
      [lo, hi, bounds, sep](std::string& s) -> std::string {
        auto v = as_number(s);
        if (!v) return "expected a number" + (sep + bounds) + " (got \"" + s + "\")";
        if (*v < lo || *v > hi) return "must be " + bounds + " (got " + s + ")";
        return "";
      },
      description);
}
}  // namespace

CLI::Validator in_range(double lo, double hi) {
  std::string range = number_text(lo) + " to " + number_text(hi);
  return number_check(lo, hi, "from " + range, " ", "[" + range + "]");
}

CLI::Validator at_least(double lo) {
  return number_check(lo, std::numeric_limits<double>::infinity(), "at least " + number_text(lo), ", ",
                      ">= " + number_text(lo));
}

CLI::Validator existing_file() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        std::error_code ec;
        auto st = std::filesystem::status(s, ec);
        if (!std::filesystem::exists(st)) return s + ": no such file";
        if (std::filesystem::is_directory(st)) return s + ": is a directory, expected a file";
        return "";
      },
      "FILE");
}

void setup_logging(const Globals& g, const std::string& file) {
  std::vector<spdlog::sink_ptr> sinks;
  if (isatty(fileno(stderr))) {
    if (g_status_line) g_status_line->clear_status();
    g_status_line = std::make_shared<StatusLineSink>();
    sinks.push_back(g_status_line);
  } else {
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  }
  if (!file.empty()) sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file, false));
  auto logger = std::make_shared<spdlog::logger>("attn", sinks.begin(), sinks.end());
  logger->set_pattern("[%H:%M:%S] %^%l%$: %v");
  logger->set_level(spdlog::level::from_str(g.log_level));
  logger->flush_on(spdlog::level::info);  // train.log is read while training runs
  spdlog::set_default_logger(logger);
}

std::string version_text() {
  // The BLAS named, not timed: --version must answer at once (attn info measures).
  blas::ProbeResult r;
  const std::string lib = blas::loaded_library();
  blas::describe(RTLD_DEFAULT, lib, r);
  std::string text = std::string("attn ") + ATTN_VERSION + "\nLibTorch " + TORCH_VERSION +
                     (at::hasCUDA() ? " (with CUDA)" : " (CPU only)") + "\nBLAS: " +
                     (r.name.empty() ? "unknown" : r.name) + (r.core.empty() ? "" : ", core " + r.core) +
                     (lib.empty() ? "" : " (" + lib + ")");
  return text;
}

void write_output(const std::string& path, const std::string& text, const std::string& what) {
  if (path != "-") return write_file_atomic(path, text);
  std::cout << text << std::flush;
  if (!std::cout) throw WriteError("cannot write " + what + " to standard output");
}

Config load_config_with(const std::string& path, const std::vector<std::string>& sets, const Globals& g) {
  Config c = load_config(path);
  if (!sets.empty() || g.seed >= 0) {
    json j = config_to_json(c);
    apply_overrides(j, sets);
    if (g.seed >= 0) j["train"]["seed"] = g.seed;
    c = config_from_json(j);
  }
  return c;
}

void decode_settings(const Config& checkpoint, const std::string& config_path, const Globals& g, DecodeConfig& d,
                     OutputConfig& out) {
  d = checkpoint.decode;
  out = checkpoint.output;
  if (config_path.empty()) return;
  Config c = load_config_with(config_path, {}, g);
  d = c.decode;
  out = c.output;
}

void add_draw_options(CLI::App* sub, DrawOptions& o) {
  sub->add_option("--draw", o.draw, "sentences drawn in attention.html (default: output.dump_attention)")
      ->check(at_least(0));
  sub->add_option("--scale", o.scale, "map colours: linear or sqrt (default: output.attention_scale)")
      ->check(CLI::IsMember({"linear", "sqrt"}));
}

void write_attention(const std::string& dir, const std::string& title, const std::vector<AttentionRecord>& records,
                     const DrawOptions& o, const OutputConfig& out) {
  int drawn = write_attention_files(dir, title, records, o.draw >= 0 ? o.draw : out.dump_attention,
                                    o.scale.empty() ? out.attention_scale : o.scale);
  spdlog::info("attention of {} sentences in {}/alignments.jsonl, {} drawn in {}/attention.html", records.size(), dir,
               drawn, dir);
}

namespace {
std::atomic<int> g_stop_signal{0};

void on_signal(int sig) {
  g_stop_signal = sig;
  // A closed terminal may send SIGHUP twice (the kernel, then the shell): only
  // a second Ctrl-C or SIGTERM means "leave now".
  if (attn::stop_requested().exchange(true) && sig != SIGHUP) std::_Exit(128 + sig);
}
}  // namespace

int stop_signal() { return g_stop_signal; }

void install_stop_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  // A closed terminal stops the run like SIGTERM; under nohup (SIGHUP already
  // ignored by the parent) it is left ignored, so the run goes on.
  struct sigaction old {};
  if (sigaction(SIGHUP, nullptr, &old) == 0 && old.sa_handler != SIG_IGN) std::signal(SIGHUP, on_signal);
}

int main(int argc, char** argv) {
  const double before_main = process_age_seconds();
  CLI::App app{"attn: train, inspect and compare sequence-to-sequence models with soft attention"};
  app.require_subcommand(1);
  app.footer("Examples:\n  attn compare --config configs/compare_toy.json\n  attn train --config configs/toy_reverse.json\n"
             "  attn translate --checkpoint runs/toy/checkpoints/best.ckpt < input.txt\n"
             "Exit codes: 0 ok, 1 runtime error, 2 usage or config error.");
  Globals g;
  g.before_main_seconds = before_main;
  app.set_version_flag("--version", version_text);
  app.add_option("--log-level", g.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--threads", g.threads, "intra-op threads (1 is fastest on 2 vCPUs)")->check(in_range(1, 256));
  app.add_option("--seed", g.seed, "override train.seed")->check(at_least(0));
  Runner run;
  add_train(app, g, run);
  add_evaluate(app, g, run);
  add_translate(app, g, run);
  add_compare(app, g, run);
  add_data(app, g, run);
  add_config(app, g, run);
  add_info(app, g, run);
  add_bench(app, g, run);
  add_average(app, g, run);
  add_score(app, g, run);
  add_serve(app, g, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // One format for every error, whoever found it; CLI11's own would add lines.
    std::string what = e.what();
    std::cerr << "error: " << what.substr(0, what.find('\n')) << "\n";
    return kUsageError;
  }
  setup_logging(g);
  if (const char* bad = invalid_kernels_environment()) {
    std::cerr << "error: ATTN_KERNELS=" << bad << ": expected fused or aten\n";
    return kUsageError;
  }
  at::set_num_threads(g.threads);
  blas::set_blas_threads(g.threads);  // OpenBLAS's own pool ignores at::set_num_threads
  try {
    return run ? run() : kUsageError;
  } catch (const ConfigError& e) {
    for (const auto& p : e.problems()) std::cerr << "error: " << p << "\n";
    return kUsageError;
  } catch (const DataError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kRuntimeError;
  } catch (const DistError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kRuntimeError;
  } catch (const CheckpointError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kRuntimeError;
  } catch (const c10::Error& e) {
    std::string w = e.what_without_backtrace();
    std::cerr << "error: " << w.substr(0, w.find('\n')) << "\n";
    return kRuntimeError;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kRuntimeError;
  }
}

}  // namespace attn::cli
