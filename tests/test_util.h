// Helpers shared by the tests.
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <string>

#include "config/config.h"
#include "data/corpus.h"
#include "data/toy.h"

namespace attn::test {

// A toy task encoded with a vocabulary built from its own sources.
std::vector<Example> toy_examples(const ToySpec& spec);

// A fresh directory under the system temp dir, removed at scope end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  std::string path(const std::string& name = "") const { return name.empty() ? dir_.string() : (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

// Central finite differences vs autograd for every element of `inputs`
// (double tensors with requires_grad). `f` returns a scalar.
void expect_gradients_match(const std::function<torch::Tensor()>& f, const std::vector<torch::Tensor>& inputs,
                            double eps = 1e-6, double tol = 1e-5);

void write_text(const std::string& path, const std::string& content);
std::string read_text(const std::string& path);

// Run the attn binary; returns exit code, captures stdout and stderr.
struct RunResult {
  int code;
  std::string out, err;
};
// `shell_prefix` goes before the binary in the /bin/sh command line (e.g. "ulimit -f 64;").
RunResult run_attn(const std::string& args, const std::string& stdin_text = "", const std::string& shell_prefix = "");

std::string source_dir();
std::string shared_dir();  // ../shared beside the repository
// Where Multi30k is: data/multi30k (scripts/get-data.sh multi30k), else
// ../shared/data/multi30k; "" when neither has it (tests then skip, saying so).
std::string multi30k_dir();
#define ATTN_SKIP_WITHOUT_MULTI30K()                                                                  \
  if (attn::test::multi30k_dir().empty())                                                             \
  GTEST_SKIP() << "Multi30k is in neither data/multi30k nor ../shared/data/multi30k: run scripts/get-data.sh " \
                  "multi30k"

// Every problem config_from_json reports for j (none: empty).
std::vector<std::string> config_problems(const nlohmann::json& j);
// Whether any of `lines` contains `needle`.
bool any_contains(const std::vector<std::string>& lines, const std::string& needle);

}  // namespace attn::test
