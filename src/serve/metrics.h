// What GET /metrics answers, in Prometheus's text format: requests by route
// and status, a latency histogram, queue depth, batch sizes, sentences and
// tokens decoded. Counting takes a lock; nothing here touches a model.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "serve/service.h"

namespace attn::serve {

class ServeMetrics : public ServiceObserver {
 public:
  // Every answer, whoever gave it (routes, the Host check, the size limit).
  void answered(const std::string& route, int status);
  // Time from arrival to answer of a request a route handled.
  void latency(const std::string& route, double seconds);
  void batch_decoded(size_t sentences, size_t tokens) override;
  // The exposition text; queue_depth is read when asked.
  std::string prometheus(size_t queue_depth) const;

  static constexpr std::array<double, 13> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                             0.25,  0.5,    1,     2.5,  5,    10};
  static constexpr std::array<double, 8> kBatchBuckets = {1, 2, 4, 8, 16, 32, 64, 128};

 private:
  struct Histogram {
    std::vector<uint64_t> counts;  // per bucket, not cumulative; last: +Inf
    double sum = 0;
    uint64_t n = 0;
    template <size_t N> void add(const std::array<double, N>& bounds, double v);
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;  // by route
  Histogram batches_;
  uint64_t sentences_ = 0, tokens_ = 0;
};

}  // namespace attn::serve
