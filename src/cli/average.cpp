#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/common.h"
#include "train/average.h"
#include "util/text_file.h"

namespace attn::cli {

void add_average(CLI::App& app, Globals&, Runner& run) {
  auto* sub = app.add_subcommand("average", "Average the parameters of checkpoints of one model into a new one");
  sub->footer(
      "Examples:\n"
      "  attn average --checkpoints runs/m/checkpoints/best-step*.ckpt --out runs/m/checkpoints/avg.ckpt\n"
      "  attn translate --checkpoint runs/m/checkpoints/avg.ckpt --input test.src\n"
      "The checkpoints must share the architecture and vocabularies. The result holds no optimiser state:\n"
      "it translates and evaluates like any checkpoint but cannot be resumed.");
  struct Opts {
    std::vector<std::string> checkpoints;
    std::string out;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--checkpoints", o->checkpoints, "checkpoints to average")->required()->expected(1, -1);
  sub->add_option("--out", o->out, "the averaged checkpoint")->required();
  sub->callback([&run, o] {
    run = [o] {
      check_writable(o->out);
      std::vector<Checkpoint> cks = load_checkpoints(o->checkpoints);
      Seq2Seq avg = average_models(cks);
      json steps = json::array();
      for (const auto& ck : cks) steps.push_back(ck.trainer_state.value("step", 0));
      json state = {{"step", cks.back().trainer_state.value("step", 0)},
                    {"averaged_from", o->checkpoints},
                    {"averaged_steps", steps}};
      save_checkpoint(o->out, *avg, nullptr, cks.front().config, cks.front().text, state);
      std::printf("averaged %zu checkpoints (steps %s) into %s\n", cks.size(), steps.dump().c_str(), o->out.c_str());
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace attn::cli
