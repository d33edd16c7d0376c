#include "eval/entropy.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "model/loss.h"

namespace attn {

const std::vector<EntropyBand>& entropy_bands() {
  static const std::vector<EntropyBand> b = {
      {"<0.5", "peaked: nearly all weight on one position", 0.0, 0.5},
      {"0.5-1.5", "concentrated: a few positions", 0.5, 1.5},
      {"1.5-2.5", "spread: several positions", 1.5, 2.5},
      {">2.5", "broad: weight over many positions", 2.5, INFINITY},
  };
  return b;
}

std::string length_bucket(int n, int width) {
  int lo = ((std::max(n, 1) - 1) / width) * width + 1;
  return std::to_string(lo) + "-" + std::to_string(lo + width - 1);
}

std::vector<double> row_entropies(const torch::Tensor& w) {
  if (w.numel() == 0) return {};
  torch::Tensor h = attention_entropy(w.to(torch::kDouble)).contiguous();
  return std::vector<double>(h.data_ptr<double>(), h.data_ptr<double>() + h.numel());
}

void EntropyStats::add(const torch::Tensor& weights, int src_len) {
  if (!weights.defined() || weights.numel() == 0) return;
  double logm = std::log(static_cast<double>(weights.size(1)));
  std::string bucket = length_bucket(src_len);
  bucket_order_[bucket] = (std::max(src_len, 1) - 1) / 10;
  auto& [bh, bhn] = by_length_[bucket];
  for (double h : row_entropies(weights)) {
    double hn = logm > 0 ? h / logm : 0.0;
    h_.push_back(h);
    hn_.push_back(hn);
    bh.push_back(h);
    bhn.push_back(hn);
  }
}

namespace {
double mean_of(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  double pos = q * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos)), hi = static_cast<size_t>(std::ceil(pos));
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}
nlohmann::json summary(const std::vector<double>& v) {
  return {{"mean", mean_of(v)},
          {"median", percentile(v, 0.5)},
          {"p10", percentile(v, 0.1)},
          {"p90", percentile(v, 0.9)}};
}
}  // namespace

double EntropyStats::mean() const { return mean_of(h_); }
double EntropyStats::mean_normalised() const { return mean_of(hn_); }

nlohmann::json EntropyStats::to_json() const {
  nlohmann::json bands = nlohmann::json::array();
  for (const auto& b : entropy_bands()) {
    int64_t n = std::count_if(h_.begin(), h_.end(), [&](double h) { return h >= b.lo && h < b.hi; });
    bands.push_back({{"band", b.name},
                     {"meaning", b.meaning},
                     {"count", n},
                     {"share", h_.empty() ? 0.0 : static_cast<double>(n) / static_cast<double>(h_.size())}});
  }
  std::vector<std::pair<int, std::string>> order;
  for (const auto& [k, v] : bucket_order_) order.emplace_back(v, k);
  std::sort(order.begin(), order.end());
  nlohmann::json by_len = nlohmann::json::array();
  for (const auto& [_, k] : order) {
    const auto& [bh, bhn] = by_length_.at(k);
    by_len.push_back({{"src_len", k}, {"rows", bh.size()}, {"mean", mean_of(bh)}, {"mean_normalised", mean_of(bhn)}});
  }
  return {{"rows", h_.size()},
          {"nats", summary(h_)},
          {"normalised", summary(hn_)},
          {"bands", bands},
          {"by_source_length", by_len}};
}

}  // namespace attn
