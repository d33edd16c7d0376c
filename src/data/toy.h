// Synthetic tasks with known gold alignments.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace attn {

struct ToyExample {
  std::vector<std::string> src, tgt;
  std::vector<std::pair<int, int>> align;     // sure links (source index, target index)
  std::vector<std::pair<int, int>> possible;  // possible-only links, written "i?j"
};

struct ToySpec {
  std::string task;  // copy | reverse | sort | toy-translate
  int n = 1000;
  int min_len = 5, max_len = 30;
  int vocab = 20;
  uint64_t seed = 1;
};

// Deterministic: the same spec gives the same examples on every platform
// (our own RNG arithmetic, no std distributions). Sources in `exclude`
// (joined with spaces) are never produced: test sets disjoint from training.
std::vector<ToyExample> make_toy(const ToySpec& spec, const std::unordered_set<std::string>* exclude = nullptr);

// Write PREFIX.src, PREFIX.tgt, PREFIX.align (Pharaoh: "i-j" sure, "i?j"
// possible, source first).
void write_toy(const std::vector<ToyExample>& ex, const std::string& prefix);

// The token for symbol i: a..z, then a1..z1, ...
std::string toy_symbol(int i);

}  // namespace attn
