// Attention-entropy statistics: H = -sum_j a_j log a_j per target step, in
// nats and normalised by log m (m = source positions attended over).
#pragma once
#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace attn {

// The four bands and what they mean for a reader.
struct EntropyBand {
  const char* name;
  const char* meaning;
  double lo, hi;
};
const std::vector<EntropyBand>& entropy_bands();

// "1-10", "11-20", ...: source-length buckets of the given width.
std::string length_bucket(int length, int width = 10);

// Per-row entropies of one sentence's weights [T, S] (nats).
std::vector<double> row_entropies(const torch::Tensor& weights);

class EntropyStats {
 public:
  // weights [T, S] for one sentence; src_len = tokens without EOS (bucketing).
  void add(const torch::Tensor& weights, int src_len);
  int64_t rows() const { return static_cast<int64_t>(h_.size()); }
  double mean() const;
  double mean_normalised() const;
  nlohmann::json to_json() const;

 private:
  std::vector<double> h_, hn_;
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> by_length_;
  std::map<std::string, int> bucket_order_;
};

}  // namespace attn
