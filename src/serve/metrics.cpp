#include "serve/metrics.h"

#include <cstdio>
#include <sstream>

namespace attn::serve {

template <size_t N> void ServeMetrics::Histogram::add(const std::array<double, N>& bounds, double v) {
  if (counts.empty()) counts.assign(N + 1, 0);
  size_t i = 0;
  while (i < N && v > bounds[i]) ++i;
  ++counts[i];
  sum += v;
  ++n;
}

void ServeMetrics::answered(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
}

void ServeMetrics::latency(const std::string& route, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  latency_[route].add(kLatencyBuckets, seconds);
}

void ServeMetrics::batch_decoded(size_t sentences, size_t tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  batches_.add(kBatchBuckets, static_cast<double>(sentences));
  sentences_ += sentences;
  tokens_ += tokens;
}

namespace {
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

template <size_t N>
void histogram(std::ostringstream& os, const std::string& name, const std::string& labels,
               const std::array<double, N>& bounds, const std::vector<uint64_t>& counts, double sum, uint64_t n) {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cum = 0;
  for (size_t i = 0; i <= N; ++i) {
    cum += counts.empty() ? 0 : counts[i];
    os << name << "_bucket{" << labels << sep << "le=\"" << (i < N ? num(bounds[i]) : "+Inf") << "\"} " << cum
       << "\n";
  }
  os << name << "_sum" << (labels.empty() ? "" : "{" + labels + "}") << " " << num(sum) << "\n";
  os << name << "_count" << (labels.empty() ? "" : "{" + labels + "}") << " " << n << "\n";
}
}  // namespace

std::string ServeMetrics::prometheus(size_t queue_depth) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream os;
  os << "# HELP attn_requests_total HTTP requests answered, by route and status.\n"
        "# TYPE attn_requests_total counter\n";
  for (const auto& [k, n] : requests_)
    os << "attn_requests_total{route=\"" << k.first << "\",status=\"" << k.second << "\"} " << n << "\n";
  os << "# HELP attn_request_seconds Time from a request's arrival to its answer, by route.\n"
        "# TYPE attn_request_seconds histogram\n";
  for (const auto& [route, h] : latency_)
    histogram(os, "attn_request_seconds", "route=\"" + route + "\"", kLatencyBuckets, h.counts, h.sum, h.n);
  os << "# HELP attn_queue_sentences Sentences waiting for the inference side.\n"
        "# TYPE attn_queue_sentences gauge\n"
        "attn_queue_sentences "
     << queue_depth << "\n";
  os << "# HELP attn_batch_sentences Sentences per decoded batch.\n# TYPE attn_batch_sentences histogram\n";
  histogram(os, "attn_batch_sentences", "", kBatchBuckets, batches_.counts, batches_.sum, batches_.n);
  os << "# HELP attn_sentences_total Sentences decoded or scored.\n# TYPE attn_sentences_total counter\n"
        "attn_sentences_total "
     << sentences_ << "\n";
  os << "# HELP attn_tokens_total Target tokens decoded or scored.\n# TYPE attn_tokens_total counter\n"
        "attn_tokens_total "
     << tokens_ << "\n";
  return os.str();
}

}  // namespace attn::serve
