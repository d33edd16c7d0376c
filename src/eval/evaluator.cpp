#include "eval/evaluator.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>

#include "data/batch.h"
#include "data/vocab.h"
#include "eval/bleu.h"
#include "eval/chrf.h"
#include "model/loss.h"
#include "util/text_file.h"

namespace attn {

using torch::Tensor;

double ForcedScores::perplexity() const { return std::exp(std::min(loss(), 50.0)); }

namespace {
// Restores train/eval mode on scope exit.
struct EvalMode {
  explicit EvalMode(torch::nn::Module& m) : m_(m), was_(m.is_training()) { m_.eval(); }
  ~EvalMode() { m_.train(was_); }
  torch::nn::Module& m_;
  bool was_;
};
// The same for every member of an ensemble.
struct EvalModes {
  explicit EvalModes(const std::vector<Seq2SeqImpl*>& models) {
    for (auto* m : models) modes.push_back(std::make_unique<EvalMode>(*m));
  }
  std::vector<std::unique_ptr<EvalMode>> modes;
};

std::vector<std::vector<int>> sorted_batches(const std::vector<Example>& ex, int batch_size) {
  std::vector<int> order(ex.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return ex[a].src.size() < ex[b].src.size(); });
  std::vector<std::vector<int>> plan;
  for (size_t i = 0; i < order.size(); i += static_cast<size_t>(batch_size))
    plan.emplace_back(order.begin() + static_cast<long>(i),
                      order.begin() + static_cast<long>(std::min(order.size(), i + static_cast<size_t>(batch_size))));
  return plan;
}
}  // namespace

ForcedScores score_corpus(Seq2SeqImpl& model, const std::vector<Example>& ex, int batch_size,
                          const torch::Device& device, bool keep_attention) {
  EvalMode em(model);
  torch::NoGradGuard ng;
  ForcedScores fs;
  if (keep_attention && model.decoder->has_attention()) fs.attention.resize(ex.size());
  for (const auto& idx : sorted_batches(ex, batch_size)) {
    Batch b = make_batch(ex, idx).to(device);
    Tensor attention;
    LossOutput l = model.loss(b, 0.0, 0.0, &attention);
    fs.nll_sum += l.nll_sum;
    fs.tokens += l.tokens;
    fs.correct += l.correct;
    if (attention.defined()) {
      Tensor a = attention.to(torch::kCPU);
      for (int r = 0; r < b.size(); ++r) {
        const Example& e = ex[idx[r]];
        int64_t T = static_cast<int64_t>(e.tgt.size()) + 1, S = static_cast<int64_t>(e.src.size()) + 1;
        Tensor w = a[r].narrow(0, 0, T).narrow(1, 0, S);
        fs.entropy.add(w, static_cast<int>(e.src.size()));
        if (!fs.attention.empty()) fs.attention[static_cast<size_t>(idx[r])] = w.contiguous();
      }
    }
  }
  return fs;
}

std::vector<std::vector<Hypothesis>> decode_corpus(Seq2SeqImpl& model, const std::vector<Example>& ex,
                                                   const SearchOptions& opts, int batch_size,
                                                   const torch::Device& device) {
  return decode_corpus(std::vector<Seq2SeqImpl*>{&model}, ex, opts, batch_size, device);
}

std::vector<std::vector<Hypothesis>> decode_corpus(const std::vector<Seq2SeqImpl*>& models,
                                                   const std::vector<Example>& ex, const SearchOptions& opts,
                                                   int batch_size, const torch::Device& device) {
  EvalModes em(models);
  Ensemble ensemble(models);
  std::vector<std::vector<Hypothesis>> out(ex.size());
  for (const auto& idx : sorted_batches(ex, batch_size)) {
    Batch b = make_batch(ex, idx).to(device);
    auto res = search(ensemble, b, opts);
    for (size_t r = 0; r < idx.size(); ++r) out[idx[r]] = std::move(res[r]);
  }
  return out;
}

std::vector<SentenceScore> score_sentences(const std::vector<Seq2SeqImpl*>& models, const std::vector<Example>& ex,
                                           int batch_size, const torch::Device& device, bool keep_attention) {
  EvalModes em(models);
  torch::NoGradGuard ng;
  std::vector<SentenceScore> out(ex.size());
  for (const auto& idx : sorted_batches(ex, batch_size)) {
    Batch b = make_batch(ex, idx).to(device);
    std::vector<StepOutput> outputs;
    for (auto* m : models) {
      DecoderOutput o = m->forward(b);
      outputs.push_back({o.logits, o.attention});
    }
    auto [logp, attention] = combine_members(outputs);  // as search combines them, over all steps at once
    Tensor real = b.tgt_out.ne(Vocab::kPad);
    Tensor tok = logp.gather(2, b.tgt_out.unsqueeze(2)).squeeze(2).masked_fill(real.logical_not(), 0);  // [B, T]
    Tensor sums = tok.sum(1).to(torch::kCPU).to(torch::kDouble), counts = real.sum(1).to(torch::kCPU);
    Tensor tok_c = tok.to(torch::kCPU).to(torch::kDouble).contiguous();
    Tensor att = keep_attention && attention.defined() ? attention.to(torch::kCPU).to(torch::kFloat) : Tensor();
    for (size_t r = 0; r < idx.size(); ++r) {
      SentenceScore& sc = out[static_cast<size_t>(idx[r])];
      sc.log_prob = sums[static_cast<int64_t>(r)].item<double>();
      sc.tokens = counts[static_cast<int64_t>(r)].item<int64_t>();
      const double* row = tok_c[static_cast<int64_t>(r)].data_ptr<double>();
      sc.token_log_probs.assign(row, row + sc.tokens);
      if (att.defined()) {
        const auto S = static_cast<int64_t>(ex[static_cast<size_t>(idx[r])].src.size()) + 1;
        sc.attention = att[static_cast<int64_t>(r)].narrow(0, 0, sc.tokens).narrow(1, 0, S).contiguous();
      }
    }
  }
  return out;
}

nlohmann::json translation_metrics(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                                   const std::vector<int>& src_len, int width) {
  struct Bucket {
    std::vector<std::string> h, r;
    long exact = 0, tok_ok = 0, tok_all = 0;
    int lo = 0;
  };
  std::map<std::string, Bucket> buckets;
  Bucket all;
  for (size_t i = 0; i < hyps.size(); ++i) {
    auto ht = split_ws(hyps[i]), rt = split_ws(refs[i]);
    long ok = 0;
    for (size_t k = 0; k < std::min(ht.size(), rt.size()); ++k) ok += ht[k] == rt[k];
    long n = static_cast<long>(std::max(ht.size(), rt.size()));
    bool exact = ht == rt;
    std::string key = length_bucket(src_len[i], width);
    for (Bucket* b : {&all, &buckets[key]}) {
      b->h.push_back(hyps[i]);
      b->r.push_back(refs[i]);
      b->exact += exact;
      b->tok_ok += ok;
      b->tok_all += n;
      b->lo = (std::max(src_len[i], 1) - 1) / width;
    }
  }
  auto summarise = [](const Bucket& b) {
    BleuResult bleu = corpus_bleu(b.h, {b.r});
    return nlohmann::json{{"sentences", b.h.size()},
                          {"bleu", bleu.score},
                          {"bleu_line", bleu.format()},
                          {"chrf", corpus_chrf(b.h, b.r)},
                          {"exact_match", b.h.empty() ? 0.0 : static_cast<double>(b.exact) / b.h.size()},
                          {"token_accuracy", b.tok_all ? static_cast<double>(b.tok_ok) / b.tok_all : 0.0}};
  };
  nlohmann::json j = summarise(all);
  j["bleu_signature"] = bleu_signature(1);
  std::vector<std::pair<int, std::string>> order;
  for (const auto& [k, b] : buckets) order.emplace_back(b.lo, k);
  std::sort(order.begin(), order.end());
  nlohmann::json per = nlohmann::json::array();
  for (const auto& [_, k] : order) {
    nlohmann::json s = summarise(buckets[k]);
    s["src_len"] = k;
    per.push_back(s);
  }
  j["by_source_length"] = per;
  return j;
}

}  // namespace attn
