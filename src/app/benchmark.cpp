#include "app/benchmark.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include "blas/blas_probe.h"
#include "config/registry.h"
#include "data/batch.h"
#include "data/vocab.h"
#include "model/flops.h"
#include "model/loss.h"
#include "model/seq2seq.h"
#include "ops/kernels.h"
#include "search/search.h"

namespace attn {

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

double current_rss_mib() {
  std::ifstream in("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  if (!(in >> pages_total >> pages_resident)) return 0;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

json run_benchmark(const ModelConfig& mc, const BenchOptions& o) {
  torch::manual_seed(static_cast<uint64_t>(o.seed));
  Seq2Seq model(mc, o.vocab, o.vocab);
  if (o.what != "train") {
    // An untrained model ends sentences whenever its random weights favour
    // EOS; forbid EOS so every decode runs to the length limit and the PyTorch
    // reference (which does the same) times the same work.
    torch::NoGradGuard ng;
    model->named_parameters()["decoder.out.bias"][Vocab::kEos] = -1e4;
  }
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-4));
  // Reverse-task batches: random symbols; lengths from a fixed formula that
  // scripts/bench/reference.py uses too, so both time the same shapes.
  auto make = [&](int k) {
    std::vector<Example> ex;
    int span = o.max_len - o.min_len + 1;
    for (int i = 0; i < o.batch; ++i) {
      int n = o.min_len + (k * 131 + i * 17) % span;
      auto ids = torch::randint(4, o.vocab, {n});
      Example e;
      for (int j = 0; j < n; ++j) e.src.push_back(static_cast<int>(ids[j].item<int64_t>()));
      e.tgt.assign(e.src.rbegin(), e.src.rend());
      e.line = k * o.batch + i;
      ex.push_back(e);
    }
    std::vector<int> idx(ex.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int>(i);
    return make_batch(ex, idx);
  };
  std::vector<Batch> batches;
  for (int k = 0; k < std::min(o.warmup + o.repeats, std::max(1, o.distinct)); ++k) batches.push_back(make(k));
  std::vector<double> ms;
  int64_t tokens = 0, sentences = 0;
  double flops = 0;  // model FLOPs of the timed batches (model/flops.h)
  SearchOptions so;
  so.beam = o.what == "beam" ? o.beam : 1;
  so.max_len_ratio = 1.0;
  so.max_len_add = 0;  // decode exactly as long as the reference could be: comparable work
  so.keep_attention = o.keep_attention;
  double rss_early = 0;
  const int early = o.warmup + std::max(1, o.repeats / 10);
  for (int k = 0; k < o.warmup + o.repeats; ++k) {
    const Batch& b = batches[static_cast<size_t>(k) % batches.size()];
    auto t0 = std::chrono::steady_clock::now();
    if (o.what == "train") {
      model->train();
      opt.zero_grad();
      model->loss(b, 0.0, 0.0).loss.backward();
      torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
      opt.step();
    } else {
      model->eval();
      search(*model, b, so);
    }
    double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (k + 1 == early) rss_early = current_rss_mib();
    if (k >= o.warmup) {
      ms.push_back(dt);
      tokens += b.tgt_tokens;
      sentences += b.size();
      if (o.what == "train") {
        flops += train_flops(mc, o.vocab, b);
      } else {  // EOS is forbidden: every sentence decodes as many steps as it has source tokens
        auto len = b.src_len.to(torch::kCPU);
        for (int64_t i = 0; i < len.size(0); ++i) {
          int64_t n = len[i].item<int64_t>();
          flops += forward_flops(mc, o.vocab, n, n - 1, so.beam);
        }
      }
    }
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  double median = sorted[sorted.size() / 2];
  double total_s = 0;
  for (double x : ms) total_s += x / 1000.0;
  json j = {{"model", mc.type},
            {"attention", attention_name(mc)},
            {"input_feeding", mc.input_feeding},
            {"what", o.what},
            {"emb", mc.emb},
            {"hidden", mc.hidden},
            {"dec_hidden", mc.dec_hidden},
            {"batch", o.batch},
            {"len", std::to_string(o.min_len) + "-" + std::to_string(o.max_len)},
            {"vocab", o.vocab},
            {"parameters", model->parameter_count()},
            {"ms_per_batch_median", median},
            {"repeats", o.repeats},
            {"threads", at::get_num_threads()},
            {"kernels", kernels_name()},
            {"peak_rss_mib", peak_rss_mib()},
            {"rss_after_10pct_mib", rss_early},
            {"rss_end_mib", current_rss_mib()}};
  // Achieved model FLOP/s against this machine's sgemm rate at attn's shapes.
  double sgemm = blas::sgemm_rate(0.1);
  j["model_gflops_per_sec"] = flops / total_s / 1e9;
  j["sgemm_gflops"] = sgemm;
  j["mfu"] = sgemm > 0 ? flops / total_s / 1e9 / sgemm : 0.0;
  j.update(blas::machine_json());
  if (o.what == "train")
    j["target_tokens_per_sec"] = static_cast<double>(tokens) / total_s;
  else
    j["sentences_per_sec"] = static_cast<double>(sentences) / total_s;
  if (o.what == "beam") j["beam"] = o.beam;
  if (o.what != "train") j["keep_attention"] = o.keep_attention;
  return j;
}

}  // namespace attn
