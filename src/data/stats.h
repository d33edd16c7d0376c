// `attn data stats`: what the data pipeline makes of a config's corpora,
// and how fast: pairs kept and dropped, tokens, vocabularies, padding.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "config/config.h"

namespace attn {

nlohmann::json data_stats(const Config& c, const std::string& dir);

}  // namespace attn
