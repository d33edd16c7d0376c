#include <filesystem>
#include <iostream>

#include "cli/common.h"

namespace attn::cli {

void add_config(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = app.add_subcommand("config", "Check a config, or print the annotated defaults");
  sub->require_subcommand(1);
  sub->footer("Examples:\n  attn config check configs/compare_toy.json\n  attn config defaults > my.json");
  auto file = std::make_shared<std::string>();
  auto* check = sub->add_subcommand("check", "Validate FILE: every problem with its JSON path; exit 2 if any");
  check->add_option("file", *file, "JSON config")->required();
  check->callback([&run, &g, file] {
    run = [&g, file] {
      Config c = load_config_with(*file, {}, g);
      // Files the run would read: all missing ones at once, like the rest.
      std::vector<std::string> missing;
      const auto& d = c.data;
      using Files = std::vector<std::pair<const char*, std::string>>;
      Files files = {{"src_vocab", d.src_vocab}, {"tgt_vocab", d.tgt_vocab}, {"spm.model", d.spm.model},
                     {"spm.src_model", d.spm.src_model}, {"spm.tgt_model", d.spm.tgt_model}};
      if (d.toy.task.empty())  // a toy task generates its corpus files
        files.insert(files.end(), {{"train_src", d.train_src}, {"train_tgt", d.train_tgt}, {"valid_src", d.valid_src},
                                   {"valid_tgt", d.valid_tgt}, {"valid_align", d.valid_align},
                                   {"test_src", d.test_src}, {"test_tgt", d.test_tgt}, {"test_align", d.test_align}});
      for (const auto& [key, path] : files)
        if (!path.empty() && !std::filesystem::exists(path))
          missing.push_back(*file + ": data." + key + ": " + path + ": no such file");
      if (!missing.empty()) throw ConfigError(missing);
      std::cout << *file << ": ok (" << c.model.type << " model, "
                << (c.data.toy.task.empty() ? c.data.train_src : "toy task " + c.data.toy.task) << ")\n";
      return static_cast<int>(kOk);
    };
  });
  auto* defaults = sub->add_subcommand("defaults", "Print a complete default config, one comment per key");
  defaults->callback([&run] {
    run = [] {
      std::cout << annotated_defaults();
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace attn::cli
