// The device a user asked for, refused with one line when this build or
// machine lacks it: Debian's LibTorch is CPU-only, so "cuda" needs a LibTorch
// built with CUDA (README, "GPU").
#include <ATen/Context.h>
#include <torch/cuda.h>

#include "cli/common.h"

namespace attn::cli {

torch::Device resolve_device(const std::string& spec) {
  if (!valid_device(spec)) throw ConfigError({"--device " + spec + ": expected cpu, cuda or cuda:N"});
  if (spec == "cpu") return torch::kCPU;
  if (!at::hasCUDA())
    throw ConfigError({"--device " + spec +
                       ": this attn was built with a LibTorch without CUDA; build it against a CUDA LibTorch "
                       "(README, \"GPU\") or use --device cpu"});
  const auto count = static_cast<int>(torch::cuda::device_count());
  const int index = spec == "cuda" ? 0 : std::stoi(spec.substr(5));
  if (index >= count)
    throw ConfigError({"--device " + spec + ": this machine has " + std::to_string(count) + " CUDA device" +
                       (count == 1 ? "" : "s")});
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(index)};
}

}  // namespace attn::cli
