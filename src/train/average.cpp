#include "train/average.h"

namespace attn {

Seq2Seq average_models(const std::vector<Checkpoint>& cks) {
  if (cks.empty()) throw CheckpointError("no checkpoints to average");
  const Checkpoint& first = cks.front();
  const json arch = config_to_json(first.config)["model"];
  for (const auto& ck : cks) {
    const json other = config_to_json(ck.config)["model"];
    if (other == arch) continue;
    std::string key = "model";
    for (auto it = arch.begin(); it != arch.end(); ++it)
      if (other[it.key()] != it.value()) key = "model." + it.key();
    throw CheckpointError(ck.path + ": " + key + " differs from " + first.path +
                          "'s; only checkpoints of one architecture can be averaged");
  }
  torch::NoGradGuard no_grad;
  Seq2Seq avg(first.config.model, first.text.src_vocab.size(), first.text.tgt_vocab.size());
  std::vector<torch::OrderedDict<std::string, torch::Tensor>> inputs;
  for (const auto& ck : cks) inputs.push_back(ck.model->named_parameters());
  for (auto& p : avg->named_parameters()) {
    // Summed in double: the mean of many float32 checkpoints stays exact to float precision.
    torch::Tensor sum = torch::zeros_like(p.value(), torch::kDouble);
    for (const auto& in : inputs) sum += in[p.key()].to(torch::kCPU).to(torch::kDouble);
    p.value().copy_(sum / static_cast<double>(cks.size()));
  }
  return avg;
}

}  // namespace attn
