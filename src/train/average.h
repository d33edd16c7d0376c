// Checkpoint averaging (as Vaswani et al. 2017 averaged their last
// checkpoints): one model whose every parameter is the mean of the inputs'.
#pragma once
#include <vector>

#include "train/checkpoint.h"

namespace attn {

// The inputs must share the architecture (model config) and, as
// load_checkpoints() checks, the vocabularies; CheckpointError names the
// first that differs. Optimiser state is not averaged: the result is for
// translating and evaluating, not for --resume.
Seq2Seq average_models(const std::vector<Checkpoint>& checkpoints);

}  // namespace attn
