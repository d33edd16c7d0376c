// Checkpoints: one file with the model, optimiser state, RNG state, trainer
// position, the resolved config and the vocabularies / sentencepiece models,
// so evaluate and translate need nothing else. Written to a temp name and
// renamed: a crash never leaves a broken checkpoint.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

#include "config/config.h"
#include "data/pipeline.h"
#include "model/seq2seq.h"
#include "train/optimizer.h"

namespace attn {

class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Checkpoint {
  Config config;
  TextModel text;
  Seq2Seq model{nullptr};
  nlohmann::json trainer_state;  // step, epoch, position, metrics, schedule
  std::string path;
};

void save_checkpoint(const std::string& path, Seq2SeqImpl& model, Optimizer* opt, const Config& config,
                     const TextModel& text, const nlohmann::json& trainer_state);

// Loads and rebuilds the model from the stored config. Errors name the file.
Checkpoint load_checkpoint(const std::string& path, const torch::Device& device = torch::kCPU);

// Several checkpoints for an ensemble or an average, refused with one line
// naming the odd one out unless all share the first one's vocabularies and
// tokenizers (token ids must mean the same in every member).
std::vector<Checkpoint> load_checkpoints(const std::vector<std::string>& paths,
                                         const torch::Device& device = torch::kCPU);

// Optimiser state and RNG state of a checkpoint (for --resume).
void restore_training_state(const std::string& path, Optimizer& opt);
// Optimiser state only (data-parallel ranks other than 0 keep their own RNG).
void restore_optimizer_state(const std::string& path, Optimizer& opt);

// Differences that make a checkpoint unusable with `c` (architecture,
// vocabulary settings, data), as "key: checkpoint X, config Y" lines.
std::vector<std::string> incompatibilities(const Config& checkpoint, const Config& c);

}  // namespace attn
