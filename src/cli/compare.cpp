#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "app/compare.h"
#include "cli/common.h"
#include "cli/process.h"
#include "report/compare_report.h"
#include "train/trainer.h"

namespace attn::cli {

namespace {

// One `attn train` child per model, `parallel` at a time, each on one
// thread: on this kind of machine 2 processes x 1 thread beat 1 x 2.
void train_in_processes(const ComparePlan& plan, int parallel, const Globals& g) {
  struct Child {
    pid_t pid;
    std::string name, log;
  };
  std::vector<Child> running;
  size_t next = 0;
  std::vector<std::string> failed;
  while (next < plan.models.size() || !running.empty()) {
    while (next < plan.models.size() && static_cast<int>(running.size()) < parallel) {
      const auto& e = plan.models[next++];
      std::string dir = e.config.output.run_dir;
      std::string log = dir + "/console.log";
      pid_t pid = spawn_self({"--threads", "1", "--log-level", g.log_level, "train", "--config",
                              dir + "/train_config.json", "--run-dir", dir, "--overwrite"},
                             log);
      spdlog::info("training {} (pid {}, log {})", e.name, pid, log);
      running.push_back({pid, e.name, log});
    }
    std::vector<pid_t> pids;
    for (const auto& c : running) pids.push_back(c.pid);
    bool ok = false;
    pid_t done = wait_any(pids, ok);
    if (done < 0) break;
    for (auto it = running.begin(); it != running.end(); ++it) {
      if (it->pid != done) continue;
      if (ok)
        spdlog::info("{} finished", it->name);
      else
        failed.push_back(it->name + " (see " + it->log + ")");
      running.erase(it);
      break;
    }
  }
  if (!failed.empty()) {
    std::string s;
    for (const auto& f : failed) s += (s.empty() ? "" : ", ") + f;
    throw std::runtime_error("training failed for " + s);
  }
}

}  // namespace

void add_compare(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = app.add_subcommand("compare", "Train the bottleneck baseline and attention models on one toy corpus and report");
  sub->footer(
      "Example:\n  attn compare --config configs/compare_toy.json --out runs/compare\n"
      "Writes results.json, report.md, accuracy_vs_length.svg, bleu_vs_length.svg, attention.html, entropy.json.");
  struct Opts {
    std::string config, out;
    std::vector<std::string> sets;
    bool report_only = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--config,-c", o->config, "JSON config with a compare section")->required()->check(existing_file());
  sub->add_option("--out", o->out, "report directory (default: output.run_dir)");
  sub->add_option("--set", o->sets, "override a config value: key.path=value (repeatable)");
  sub->add_flag("--report-only", o->report_only, "evaluate the models already trained in --out and rewrite the report");
  sub->callback([&run, &g, o] {
    run = [&g, o] {
      Config c = load_config_with(o->config, o->sets, g);
      std::string dir = o->out.empty() ? c.output.run_dir : o->out;
      std::filesystem::create_directories(dir);
      setup_logging(g, dir + "/compare.log");
      auto t0 = std::chrono::steady_clock::now();
      ComparePlan plan = plan_compare(c, dir);
      if (o->report_only) {
        spdlog::info("re-evaluating the models trained in {}", dir);
      } else if (c.compare.parallel > 1) {
        train_in_processes(plan, c.compare.parallel, g);
      } else {
        install_stop_handlers();
        for (const auto& e : plan.models) {
          spdlog::info("training {}", e.name);
          TrainOptions to;
          to.run_dir = e.config.output.run_dir;
          to.device = resolve_device(e.config.train.device);
          to.overwrite = true;  // a comparison trains its models afresh each time (--report-only keeps them)
          TrainResult r = train(e.config, to);
          if (r.interrupted) {
            std::printf("interrupted while training %s\n", e.name.c_str());
            return static_cast<int>(kOk);
          }
        }
      }
      json results = finish_compare(plan);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("\n%s\nwall time %.0f s. Report: %s/report.md, plots: %s/accuracy_vs_length.svg, attention: %s/attention.html\n",
                  compare_table(results).c_str(), secs, dir.c_str(), dir.c_str(), dir.c_str());
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace attn::cli
