// `attn compare`: the same corpus and budget for several models (the
// fixed-bottleneck baseline and attention models), then one report.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"

namespace attn {

struct ComparePlan {
  std::string out_dir;
  Config base;  // data resolved to files under out_dir/data
  ToyConfig toy;  // the toy task those files hold (task empty: files given by the user)
  struct Entry {
    std::string name;
    Config config;  // model from the entry, output.run_dir = out_dir/models/NAME
  };
  std::vector<Entry> models;
};

// The default line-up when compare.models is empty: bottleneck, Bahdanau,
// Luong general with input feeding.
std::vector<CompareModel> default_compare_models();

// Generates/reads the data once and writes each model's config.
ComparePlan plan_compare(const Config& c, const std::string& out_dir);

// After every model trained into its run dir (summary.json present):
// evaluate on the test set and write results.json, report.md, plots,
// attention.html, entropy.json. Returns results.json's content.
nlohmann::json finish_compare(const ComparePlan& plan);

}  // namespace attn
