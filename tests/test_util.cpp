#include "test_util.h"

#include "data/vocab.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

namespace attn::test {

std::vector<Example> toy_examples(const ToySpec& spec) {
  auto toy = make_toy(spec);
  std::vector<std::vector<std::string>> sources;
  for (const auto& e : toy) sources.push_back(e.src);
  Vocab v = Vocab::build(sources, 1, 0);
  std::vector<Example> ex;
  for (const auto& e : toy) ex.push_back({v.encode(e.src), v.encode(e.tgt), 0});
  return ex;
}

TempDir::TempDir() {
  std::random_device rd;
  dir_ = std::filesystem::temp_directory_path() / ("attn_test_" + std::to_string(getpid()) + "_" + std::to_string(rd()));
  std::filesystem::create_directories(dir_);
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void expect_gradients_match(const std::function<torch::Tensor()>& f, const std::vector<torch::Tensor>& inputs,
                            double eps, double tol) {
  for (const auto& x : inputs)
    if (x.grad().defined()) x.grad().zero_();
  torch::Tensor y = f();
  y.backward();
  for (size_t k = 0; k < inputs.size(); ++k) {
    torch::Tensor x = inputs[k];
    ASSERT_EQ(x.scalar_type(), torch::kDouble);
    ASSERT_TRUE(x.grad().defined()) << "input " << k << " got no gradient";
    torch::Tensor analytic = x.grad().clone().view(-1);
    torch::NoGradGuard ng;
    torch::Tensor flat = x.view(-1);
    for (int64_t i = 0; i < flat.numel(); ++i) {
      double orig = flat[i].item<double>();
      flat[i] = orig + eps;
      double up = f().item<double>();
      flat[i] = orig - eps;
      double down = f().item<double>();
      flat[i] = orig;
      double numeric = (up - down) / (2 * eps);
      double a = analytic[i].item<double>();
      EXPECT_NEAR(a, numeric, tol * std::max(1.0, std::abs(numeric))) << "input " << k << " element " << i;
    }
  }
}

void write_text(const std::string& path, const std::string& content) {
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RunResult run_attn(const std::string& args, const std::string& stdin_text, const std::string& shell_prefix) {
  std::string tag = std::to_string(getpid()) + "_" + std::to_string(std::random_device{}());
  std::string out = std::filesystem::temp_directory_path() / ("attn_out_" + tag);
  std::string err = std::filesystem::temp_directory_path() / ("attn_err_" + tag);
  std::string in = std::filesystem::temp_directory_path() / ("attn_in_" + tag);
  write_text(in, stdin_text);
  std::string cmd = shell_prefix + " " + std::string(ATTN_BINARY) + " " + args + " <" + in + " >" + out + " 2>" + err;
  int status = std::system(cmd.c_str());
  RunResult r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(out), read_text(err)};
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  std::filesystem::remove(in);
  return r;
}

std::string source_dir() { return ATTN_SOURCE_DIR; }
std::string shared_dir() { return (std::filesystem::path(ATTN_SOURCE_DIR).parent_path() / "shared").string(); }
std::string multi30k_dir() {
  for (const std::string& d : {source_dir() + "/data/multi30k", shared_dir() + "/data/multi30k"})
    if (std::filesystem::exists(d + "/train.de.gz")) return d;
  return "";
}

std::vector<std::string> config_problems(const nlohmann::json& j) {
  try {
    config_from_json(j);
  } catch (const ConfigError& e) {
    return e.problems();
  }
  return {};
}

bool any_contains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& s : lines)
    if (s.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace attn::test
