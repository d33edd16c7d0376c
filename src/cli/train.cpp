#include <spdlog/spdlog.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "blas/blas_probe.h"
#include "cli/common.h"
#include "cli/process.h"
#include "cli/status_line.h"
#include "eval/validation.h"
#include "train/distributed.h"
#include "train/trainer.h"
#include "util/run_dir.h"

namespace attn::cli {

namespace {

// A status line on a terminal (stderr, shared with the log: see
// status_line.h); periodic log lines otherwise.
class ConsoleObserver : public TrainObserver {
 public:
  explicit ConsoleObserver(int log_every) : log_every_(log_every) {}
  ~ConsoleObserver() override {
    if (status_line()) status_line()->clear_status();
  }
  void on_progress(const TrainProgress& p) override {
    if (StatusLineSink* s = status_line()) {
      auto now = std::chrono::steady_clock::now();
      if (now - last_ < std::chrono::milliseconds(200)) return;
      last_ = now;
      std::string total = p.max_steps > 0 ? "/" + std::to_string(p.max_steps) : "";
      s->set_status(fmt::format("step {}{} | epoch {} | loss {:.3f} | {:.0f} tok/s | lr {:.2g} | valid in {} ({:.0f}s)",
                                p.step, total, p.epoch + 1, p.loss, p.tokens_per_sec, p.lr, p.steps_to_valid,
                                p.eta_valid_sec));
    } else if (p.step % log_every_ == 0) {
      spdlog::info("step {} | epoch {} | loss {:.3f} | {:.0f} tok/s, {:.1f} GFLOP/s | lr {:.2g}", p.step, p.epoch + 1,
                   p.loss, p.tokens_per_sec, p.gflops_per_sec, p.lr);
    }
  }
  void on_validation(const nlohmann::json& v) override {
    std::string ent = v.contains("attention_entropy")
                          ? fmt::format(" | H {:.2f} nats ({:.2f} of log m)", v["attention_entropy"].get<double>(),
                                        v["attention_entropy_normalised"].get<double>())
                          : "";
    if (v.contains("valid_aer"))
      ent += fmt::format(" | AER {:.3f} (row t+1: {:.3f}), forced decoding", v["valid_aer"].get<double>(),
                         v["valid_aer_shift1"].get<double>());
    spdlog::info("validation at step {}: {}{}", v["step"].get<long>(), validation_summary(v), ent);
  }

 private:
  int log_every_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

void add_train(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = app.add_subcommand("train", "Train a model from a JSON config");
  sub->footer(
      "Example:\n  attn train --config configs/toy_reverse.json --run-dir runs/rev\n"
      "  attn train --config configs/toy_reverse.json --run-dir runs/rev --resume\n"
      "  attn train --config c.json --set model.hidden=256 --set train.lr=5e-4\n"
      "Ctrl-C finishes the current update, writes checkpoints/last.ckpt and exits 0.\n"
      "A run directory that holds checkpoints is refused unless --resume or --overwrite is given;\n"
      "--resume of a finished run changes nothing (raise train.max_steps with --set to go on).");
  struct Opts {
    std::string config, run_dir;
    bool resume = false, overwrite = false;
    std::vector<std::string> sets;
    long stop_after = 0;
    int world = 1, rank = 0, nproc = 0;
    std::string master = "127.0.0.1:29500";
    std::string device;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--config,-c", o->config, "JSON config")->required()->check(existing_file());
  sub->add_option("--run-dir", o->run_dir, "run directory (default: output.run_dir)");
  sub->add_flag("--resume", o->resume, "continue from RUN_DIR/checkpoints/last.ckpt exactly");
  sub->add_flag("--overwrite", o->overwrite, "start again in a run directory that holds checkpoints (deletes them)")
      ->excludes("--resume");
  sub->add_option("--device", o->device, "cpu, cuda or cuda:N (sets train.device)");
  sub->add_option("--set", o->sets, "override a config value: key.path=value (repeatable)");
  sub->add_option("--stop-after", o->stop_after, "stop as if interrupted after N updates (for testing resume)");
  sub->add_option("--nproc", o->nproc, "data-parallel over N local processes (1 thread each)")->check(in_range(1, 64));
  sub->add_option("--world-size", o->world, "data-parallel: number of processes in all")->check(in_range(1, 4096));
  sub->add_option("--rank", o->rank, "data-parallel: this process's rank (0 validates and writes)")
      ->check(at_least(0));
  sub->add_option("--master", o->master, "data-parallel: HOST:PORT where rank 0 listens");
  sub->callback([&run, &g, o] {
    run = [&g, o] {
      // As a --set: workers and the resume hint carry it like any other.
      if (!o->device.empty()) o->sets.push_back("train.device=" + o->device), o->device.clear();
      Config c = load_config_with(o->config, o->sets, g);
      std::string dir = o->run_dir.empty() ? c.output.run_dir : o->run_dir;
      c.output.run_dir = dir;
      std::filesystem::create_directories(dir);
      setup_logging(g, RunDir(dir).log());
      install_stop_handlers();
      ConsoleObserver obs(c.train.log_every);
      TrainOptions to;
      to.run_dir = dir;
      to.resume = o->resume;
      to.overwrite = o->overwrite;
      to.stop_at_step = o->stop_after;
      to.device = resolve_device(c.train.device);
      to.observer = &obs;
      to.dist = {o->world, o->rank, o->master, c.train.dist_backend, c.train.dist_timeout};
      std::vector<pid_t> workers;
      if (o->nproc > 1) {
        // Ranks 1..N-1 are children running this same command; this process is rank 0.
        to.dist.world = o->nproc;
        to.dist.rank = 0;
        to.dist.master = "127.0.0.1:" + std::to_string(free_local_port());
        for (int r = 1; r < o->nproc; ++r) {
          std::vector<std::string> args = {"--threads", "1", "--log-level", g.log_level, "train", "--config", o->config,
                                           "--run-dir", dir, "--world-size", std::to_string(o->nproc), "--rank",
                                           std::to_string(r), "--master", to.dist.master};
          if (o->resume) args.push_back("--resume");
          if (o->stop_after) args.insert(args.end(), {"--stop-after", std::to_string(o->stop_after)});
          for (const auto& s : o->sets) args.insert(args.end(), {"--set", s});
          if (g.seed >= 0) args.insert(args.begin(), {"--seed", std::to_string(g.seed)});
          workers.push_back(spawn_self(args, dir + "/rank" + std::to_string(r) + ".log"));
        }
        spdlog::info("data-parallel over {} processes at {} (logs {}/rank*.log)", o->nproc, to.dist.master, dir);
      }
      TrainResult r;
      try {
        r = train(c, to);
      } catch (...) {
        for (pid_t p : workers) kill(p, SIGTERM);
        throw;
      }
      for (size_t k = 0; k < workers.size(); ++k) {
        bool ok = false;
        pid_t p = wait_any(workers, ok);
        if (p > 0 && !ok) throw std::runtime_error("a data-parallel worker failed; see " + dir + "/rank*.log");
      }
      if (to.dist.rank != 0) return static_cast<int>(kOk);  // rank 0 reports
      if (status_line()) status_line()->clear_status();
      if (!r.already_finished.empty()) {
        std::string hint = r.already_finished.rfind("train.max_steps", 0) == 0
                               ? "e.g. --resume --set train.max_steps=" + std::to_string(2 * r.steps)
                               : "--resume --set KEY=VALUE";
        std::printf("%s: already finished at step %lld (%s); nothing changed. To train further, raise that limit: %s\n",
                    dir.c_str(), static_cast<long long>(r.steps), r.already_finished.c_str(), hint.c_str());
        return static_cast<int>(kOk);
      }
      if (r.interrupted) {
        // The command that continues it: the same options, plus --resume.
        std::string again = "attn train --config " + o->config + " --run-dir " + dir;
        if (o->nproc > 1) again += " --nproc " + std::to_string(o->nproc);
        for (const auto& s : o->sets) again += " --set " + s;
        std::string msg = "stopped at step " + std::to_string(r.steps) + "; checkpoint " + r.last_checkpoint +
                          ". Resume with: " + again + " --resume";
        // The terminal that would show it is gone: train.log keeps the line.
        if (stop_signal() == SIGHUP) spdlog::warn("the terminal closed (SIGHUP): {}", msg);
        std::printf("%s\n", msg.c_str());
        return static_cast<int>(kOk);
      }
      // The yardstick for the model's FLOP rate: this machine's sgemm, measured now (~0.2 s).
      double sgemm = blas::sgemm_rate(0.02);
      std::printf("finished after %lld steps (%.0f target tokens/s; model %.1f GFLOP/s, %.0f%% of sgemm's %.0f)%s; "
                  "best checkpoint: %s\n",
                  static_cast<long long>(r.steps), r.tokens_per_sec, r.gflops_per_sec,
                  sgemm > 0 ? 100 * r.gflops_per_sec / sgemm : 0.0, sgemm, r.early_stopped ? ", stopped early" : "",
                  r.best_checkpoint.empty() ? r.last_checkpoint.c_str() : r.best_checkpoint.c_str());
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace attn::cli
