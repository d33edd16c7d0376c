#include "data/batch.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace attn {

Batch Batch::to(const torch::Device& d) const {
  Batch b = *this;
  b.src = src.to(d);
  b.src_len = src_len.to(d);
  b.tgt_in = tgt_in.to(d);
  b.tgt_out = tgt_out.to(d);
  return b;
}

Batch make_batch(const std::vector<Example>& ex, const std::vector<int>& index) {
  int64_t B = static_cast<int64_t>(index.size());
  int64_t S = 0, T = 0;
  for (int i : index) {
    S = std::max<int64_t>(S, static_cast<int64_t>(ex[i].src.size()) + 1);
    T = std::max<int64_t>(T, static_cast<int64_t>(ex[i].tgt.size()) + 1);
  }
  Batch b;
  b.index = index;
  b.src = torch::full({B, S}, Vocab::kPad, torch::kLong);
  b.src_len = torch::empty({B}, torch::kLong);
  b.tgt_in = torch::full({B, T}, Vocab::kPad, torch::kLong);
  b.tgt_out = torch::full({B, T}, Vocab::kPad, torch::kLong);
  auto src = b.src.accessor<int64_t, 2>();
  auto len = b.src_len.accessor<int64_t, 1>();
  auto tin = b.tgt_in.accessor<int64_t, 2>();
  auto tout = b.tgt_out.accessor<int64_t, 2>();
  for (int64_t r = 0; r < B; ++r) {
    const Example& e = ex[index[r]];
    int64_t n = static_cast<int64_t>(e.src.size());
    for (int64_t j = 0; j < n; ++j) src[r][j] = e.src[j];
    src[r][n] = Vocab::kEos;
    len[r] = n + 1;
    int64_t m = static_cast<int64_t>(e.tgt.size());
    tin[r][0] = Vocab::kBos;
    for (int64_t j = 0; j < m; ++j) {
      tin[r][j + 1] = e.tgt[j];
      tout[r][j] = e.tgt[j];
    }
    tout[r][m] = Vocab::kEos;
    b.tgt_tokens += m + 1;
    b.src_tokens += n + 1;
  }
  return b;
}

std::vector<std::vector<int>> plan_batches(const std::vector<Example>& ex, const BatchPlanOptions& o, int epoch) {
  std::vector<int> order(ex.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(o.seed * 1000003ULL + static_cast<uint64_t>(epoch));
  if (o.shuffle) std::shuffle(order.begin(), order.end(), rng);
  auto key = [&](int i) { return std::max(ex[i].src.size(), ex[i].tgt.size()); };
  // Pools of many batches, sorted by length inside: little padding, yet
  // batches still differ from epoch to epoch.
  size_t avg = o.batch_tokens > 0 ? std::max<size_t>(1, o.batch_tokens / 20) : static_cast<size_t>(o.batch_size);
  size_t pool = std::max<size_t>(1, avg * static_cast<size_t>(o.bucket_batches));
  std::vector<std::vector<int>> plan;
  for (size_t start = 0; start < order.size(); start += pool) {
    size_t end = std::min(order.size(), start + pool);
    std::stable_sort(order.begin() + static_cast<long>(start), order.begin() + static_cast<long>(end),
                     [&](int a, int b) { return key(a) < key(b); });
    std::vector<int> cur;
    size_t cur_max = 0;
    for (size_t k = start; k < end; ++k) {
      int i = order[k];
      size_t m = std::max(cur_max, key(i) + 1);
      bool full = o.batch_tokens > 0 ? !cur.empty() && m * (cur.size() + 1) > static_cast<size_t>(o.batch_tokens)
                                     : static_cast<int>(cur.size()) >= o.batch_size;
      if (full) {
        plan.push_back(std::move(cur));
        cur.clear();
        m = key(i) + 1;
      }
      cur.push_back(i);
      cur_max = m;
    }
    if (!cur.empty()) plan.push_back(std::move(cur));
  }
  if (o.shuffle) std::shuffle(plan.begin(), plan.end(), rng);
  return plan;
}

double padding_ratio(const std::vector<Example>& ex, const std::vector<std::vector<int>>& plan) {
  double pad = 0, total = 0;
  for (const auto& b : plan) {
    size_t s = 0, t = 0, real = 0;
    for (int i : b) {
      s = std::max(s, ex[i].src.size() + 1);
      t = std::max(t, ex[i].tgt.size() + 1);
      real += ex[i].src.size() + ex[i].tgt.size() + 2;
    }
    double all = static_cast<double>((s + t) * b.size());
    total += all;
    pad += all - static_cast<double>(real);
  }
  return total > 0 ? pad / total : 0.0;
}

}  // namespace attn
