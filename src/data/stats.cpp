#include "data/stats.h"

#include <chrono>

#include "data/batch.h"
#include "data/pipeline.h"

namespace attn {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

nlohmann::json data_stats(const Config& c0, const std::string& dir) {
  using clock = std::chrono::steady_clock;
  Config c = materialise_toy_data(c0, dir);
  auto t0 = clock::now();
  ReadStats raw;
  auto pairs = read_parallel(c.data.train_src, c.data.train_tgt, c.data.skip_empty, &raw);
  double read_s = seconds_since(t0);
  t0 = clock::now();
  TextModel tm = build_text_model(c, pairs, dir);
  double vocab_s = seconds_since(t0);
  t0 = clock::now();
  ReadStats st = raw;
  Corpus corpus =
      encode_corpus(pairs, *tm.src_tok, *tm.tgt_tok, tm.src_vocab, tm.tgt_vocab, c.data.max_src_len, c.data.max_tgt_len, &st);
  double encode_s = seconds_since(t0);
  BatchPlanOptions bo;
  bo.batch_size = c.data.batch_size;
  bo.batch_tokens = c.data.batch_tokens;
  bo.seed = static_cast<uint64_t>(c.train.seed);
  t0 = clock::now();
  auto plan = plan_batches(corpus.examples, bo, 0);
  int64_t tokens = 0;
  for (const auto& b : plan) tokens += make_batch(corpus.examples, b).tgt_tokens;
  double batch_s = seconds_since(t0);
  int64_t src_tokens = 0;
  for (const auto& e : corpus.examples) src_tokens += static_cast<int64_t>(e.src.size());
  return {{"train_src", c.data.train_src},
          {"lines", raw.lines},
          {"pairs", corpus.size()},
          {"skipped_empty", raw.empty},
          {"dropped_too_long", st.too_long},
          {"dropped_src_too_long", st.src_too_long},
          {"dropped_tgt_too_long", st.tgt_too_long},
          {"dropped_no_tokens", st.no_tokens},
          {"tokenizer", tm.src_tok->kind()},
          {"src_vocab", tm.src_vocab.size()},
          {"tgt_vocab", tm.tgt_vocab.size()},
          {"src_tokens", src_tokens},
          {"tgt_tokens", tokens},
          {"batches", plan.size()},
          {"padding_ratio", padding_ratio(corpus.examples, plan)},
          {"seconds", {{"read", read_s}, {"vocabulary", vocab_s}, {"encode", encode_s}, {"batch", batch_s}}},
          {"encode_sentences_per_sec", encode_s > 0 ? static_cast<double>(pairs.size()) / encode_s : 0.0},
          {"pipeline_sentences_per_sec",
           static_cast<double>(pairs.size()) / (read_s + encode_s + batch_s)}};
}

}  // namespace attn
