// Precompiled header: the torch and json headers cost most of each
// translation unit's compile time.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
