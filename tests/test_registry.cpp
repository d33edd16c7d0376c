// The registry of model types, attention scores and validation metrics: a new
// score is one class and one register_score() entry, and then config
// validation, the model, training, search and the FLOP count all take it; a
// new metric is one register_metric() entry, and then train.metric, the
// trainer, metrics.jsonl, the console line, summary.json and the plots take
// it; built-in entries keep their rules.
#include <gtest/gtest.h>

#include <cmath>

#include "config/registry.h"
#include "data/batch.h"
#include "eval/validation.h"
#include "model/attention.h"
#include "model/bahdanau_decoder.h"
#include "model/flops.h"
#include "model/seq2seq.h"
#include "search/search.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "util/text_file.h"

#include "test_util.h"

using namespace attn;
using torch::Tensor;

namespace {

// The example: scaled dot product (Vaswani et al. 2017), q . h / sqrt(d),
// written with plain ATen ops (it does not claim fused_steps()).
class ScaledDotAttentionImpl : public AttentionImpl {
 public:
  using AttentionImpl::AttentionImpl;
  Tensor score(const Tensor& query, const AttentionMemory& mem, const Tensor&) override {
    return torch::bmm(query, mem.row_keys().transpose(1, 2)) / std::sqrt(static_cast<double>(query.size(-1)));
  }
};

// The one registry line (run by the test: static initialisation would order it
// unpredictably against the built-in scores).
bool register_example() {
  return register_score(
      {"scaled-dot", "scaled dot product: q . h / sqrt(d)", {"luong"}, nullptr,
       [](const AttentionConfig& c, int64_t, int64_t, int64_t) -> std::shared_ptr<AttentionImpl> {
         return std::make_shared<ScaledDotAttentionImpl>(c.temperature, c.dropout);
       },
       [](const ModelConfig& m, double S) { return std::pair<double, double>{0.0, 2.0 * S * m.dec_hidden}; }, nullptr});
}

std::vector<std::string> problems(const json& j) { return test::config_problems(j); }
bool has(const std::vector<std::string>& v, const std::string& needle) { return test::any_contains(v, needle); }

json luong(const std::string& score) {
  return {{"model", {{"type", "luong"}, {"emb", 8}, {"hidden", 4}, {"dec_hidden", 8}, {"dropout", 0.0},
                     {"attention", {{"score", score}}}}}};
}

}  // namespace

TEST(Registry, ANewScoreIsValidatedBuiltTrainedAndSearched) {
  ASSERT_TRUE(register_example());
  // Config validation knows it, and which decoders take it.
  EXPECT_TRUE(problems(luong("scaled-dot")).empty());
  json b = luong("scaled-dot");
  b["model"]["type"] = "bahdanau";
  EXPECT_TRUE(has(problems(b), "\"scaled-dot\" (scaled dot product: q . h / sqrt(d)) is for model.type luong"));
  EXPECT_TRUE(has(problems(luong("scaleddot")), "did you mean \"scaled-dot\"?"));
  EXPECT_NE(annotated_defaults().find("scaled-dot"), std::string::npos);

  // The layer: weights are softmax(q . h / sqrt(2)) on real positions, 0 on padding.
  AttentionConfig ac;
  ac.score = "scaled-dot";
  auto a = make_attention(ac, 2, 2, 2);
  Tensor values = torch::tensor({1.0f, 0.0f, 0.0f, 2.0f, 5.0f, 5.0f}).view({1, 3, 2});
  Tensor mask = torch::tensor({true, true, false}).view({1, 3});
  auto out = a->forward(torch::tensor({2.0f, 3.0f}).view({1, 1, 2}),
                        a->memory(values, mask, torch::tensor({2L})), Tensor());
  double e0 = 2.0 / std::sqrt(2.0), e1 = 6.0 / std::sqrt(2.0);  // q . h = 2 and 6
  EXPECT_NEAR(out.weights[0][0][0].item<double>(), std::exp(e0) / (std::exp(e0) + std::exp(e1)), 1e-6);
  EXPECT_EQ(out.weights[0][0][2].item<double>(), 0.0);

  // The model trains with it (gradients reach the encoder through the score)
  // and both searches decode with it.
  Config c = config_from_json(luong("scaled-dot"));
  torch::manual_seed(1);
  Seq2Seq m(c.model, 12, 12);
  Batch batch = make_batch({{{4, 5, 6}, {6, 5, 4}, 1}, {{7, 8, 9, 4, 5}, {5}, 2}}, {0, 1});
  m->loss(batch, 0.0, 0.0).loss.backward();
  EXPECT_GT(m->encoder->embed->weight.grad().abs().sum().item<double>(), 0.0);
  m->eval();
  SearchOptions o;
  o.keep_attention = true;
  for (int beam : {1, 3}) {
    o.beam = beam;
    auto hyps = search(*m, batch, o);
    ASSERT_EQ(hyps.size(), 2u);
    for (const auto& h : hyps)
      if (!h[0].tokens.empty()) {
        EXPECT_NEAR(h[0].attention.sum(1).mean().item<double>(), 1.0, 1e-5);
      }
  }
  // The FLOP count takes its entry: one product per key and decoder size.
  ModelConfig dot = c.model;
  dot.attention.score = "dot";
  dot.dec_hidden = 8, dot.hidden = 4;  // dot scores over 2 * hidden = dec_hidden: the same work
  EXPECT_DOUBLE_EQ(forward_flops(c.model, 12, 10, 7), forward_flops(dot, 12, 10, 7));
}

TEST(Registry, BuiltInEntriesKeepTheirRules) {
  for (const char* s : {"additive", "concat", "dot", "general", "location", "local-m", "local-p"})
    EXPECT_NE(find_score(s), nullptr) << s;
  EXPECT_EQ(find_model_type("bottleneck")->attention, false);
  ModelConfig bottleneck;
  bottleneck.type = "bottleneck";
  EXPECT_EQ(attention_name(bottleneck), "none");
  ModelConfig loc;
  loc.type = "luong";
  loc.attention.score = "location";
  loc.attention.max_src_len = 40;
  EXPECT_EQ(Seq2Seq(loc, 10, 10)->max_source_tokens(), 39);
  json cov = luong("general");
  cov["model"]["attention"]["coverage"] = true;
  EXPECT_TRUE(has(problems(cov), "coverage: supported by model.type bahdanau only"));
}

// A TER-like metric (lower is better), registered in one place. Its values are
// scripted so that the lowest is neither the first nor the last validation:
// a trainer that ignored the direction, or kept the latest, would pick another.
TEST(Registry, ANewMetricIsLoggedPlottedAndSelectsTheLowest) {
  const std::vector<double> script = {0.6, 0.2, 0.9, 0.4};
  auto calls = std::make_shared<size_t>(0);
  ASSERT_TRUE(register_metric({"ter_like", "valid_ter_like", "a TER-like edit rate (test)", true,
                               [script, calls](const ValidationPass& p) {
                                 EXPECT_EQ(p.hyps.size(), p.refs.size());
                                 return script[std::min((*calls)++, script.size() - 1)];
                               },
                               "TER", 3, "scores", "TER-like", 1}));
  test::TempDir d;
  json j = {{"data",
             {{"toy", {{"task", "reverse"}, {"n_train", 200}, {"n_valid", 20}, {"n_test", 20}, {"min_len", 3},
                       {"max_len", 6}, {"test_min_len", 3}, {"test_max_len", 6}, {"vocab", 8}, {"seed", 3}}},
              {"batch_size", 16}}},
            {"model", {{"type", "bahdanau"}, {"emb", 8}, {"hidden", 8}, {"dec_hidden", 16}, {"dropout", 0.0}}},
            {"train", {{"max_steps", 40}, {"valid_every", 10}, {"keep_best", 2}, {"metric", "ter_like"}}},
            {"output", {{"run_dir", d.path()}}}};
  EXPECT_TRUE(problems(j).empty());  // train.metric accepts the registered name
  j["train"]["metric"] = "ter_lik";
  EXPECT_TRUE(has(problems(j), "did you mean \"ter_like\"?"));
  j["train"]["metric"] = "ter_like";
  TrainOptions o;
  o.run_dir = d.path();
  train(config_from_json(j), o);

  // Logged at every validation, under its key, and on the console line.
  auto lines = read_lines(d.path("metrics.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < lines.size(); ++i) {
    json line = json::parse(lines[i]);
    EXPECT_DOUBLE_EQ(line.at("valid_ter_like").get<double>(), script[i]);
    EXPECT_NE(validation_summary(line).find("TER " + std::string(i == 1 ? "0.200" : i == 3 ? "0.400" : "")),
              std::string::npos);
  }
  // Plotted with the other scores.
  EXPECT_NE(read_file(d.path("valid_scores.svg")).find("TER-like"), std::string::npos);
  // The lowest (0.2 at step 20) is best.ckpt; keep_best 2 kept it and 0.4 (step 40).
  json summary = json::parse(read_file(d.path("summary.json")));
  EXPECT_EQ(summary["metric"]["name"], "ter_like");
  EXPECT_EQ(summary["metric"]["lower_is_better"], true);
  EXPECT_DOUBLE_EQ(summary["metric"]["best"].get<double>(), 0.2);
  EXPECT_EQ(load_checkpoint(d.path("checkpoints/best.ckpt"), torch::kCPU).trainer_state["step"], 20);
  EXPECT_TRUE(std::filesystem::exists(d.path("checkpoints/best-step20.ckpt")));
  EXPECT_TRUE(std::filesystem::exists(d.path("checkpoints/best-step40.ckpt")));
  EXPECT_FALSE(std::filesystem::exists(d.path("checkpoints/best-step10.ckpt")));
  EXPECT_FALSE(std::filesystem::exists(d.path("checkpoints/best-step30.ckpt")));
}

namespace {
// The example decoder: RNNsearch with a tanh deep output whatever
// model.maxout says (one class; its entry below is the only other line).
ModelConfig without_maxout(ModelConfig c) {
  c.maxout = false;
  return c;
}
class TanhRnnSearchImpl : public BahdanauDecoderImpl {
 public:
  TanhRnnSearchImpl(const ModelConfig& c, int64_t vocab, const torch::nn::Embedding& shared)
      : BahdanauDecoderImpl(without_maxout(c), vocab, shared) {}
};
bool register_example_decoder() {
  return register_model_type(
      {"rnnsearch-tanh", "RNNsearch with a tanh deep output", true, true, "additive", false, {"additive", "concat"},
       [](const ModelConfig& c, int64_t vocab, const std::shared_ptr<torch::nn::EmbeddingImpl>& shared) {
         return std::make_shared<TanhRnnSearchImpl>(c, vocab, torch::nn::Embedding(shared));
       },
       [](const ModelConfig& m, double T, double V) { return find_model_type("bahdanau")->flops(without_maxout(m), T, V); }});
}
}  // namespace

TEST(Registry, ANewDecoderIsValidatedBuiltTrainedSearchedAndCounted) {
  ASSERT_TRUE(register_example_decoder());
  json j = {{"model", {{"type", "rnnsearch-tanh"}, {"emb", 8}, {"hidden", 4}, {"dec_hidden", 8}, {"dropout", 0.0},
                       {"attention", {{"score", "additive"}, {"coverage", true}}}}}};
  EXPECT_TRUE(problems(j).empty());  // its type, its score (named in its entry), coverage
  j["model"]["attention"]["score"] = "dot";
  EXPECT_TRUE(has(problems(j), "the rnnsearch-tanh decoder takes additive, concat; \"dot\""));
  j["model"]["attention"]["score"] = "additive";
  Config c = config_from_json(j);
  torch::manual_seed(2);
  Seq2Seq m(c.model, 12, 12);
  ASSERT_NE(dynamic_cast<TanhRnnSearchImpl*>(m->decoder.get()), nullptr);
  Batch batch = make_batch({{{4, 5, 6}, {6, 5, 4}, 1}, {{7, 8, 9, 4, 5}, {5}, 2}}, {0, 1});
  m->loss(batch, 0.0, 0.0).loss.backward();
  EXPECT_GT(m->encoder->embed->weight.grad().abs().sum().item<double>(), 0.0);
  m->eval();
  SearchOptions o;
  o.keep_attention = true;
  auto greedy = search(*m, batch, o);
  o.beam = 3;
  auto beam = search(*m, batch, o);
  ASSERT_EQ(greedy.size(), 2u);
  ASSERT_EQ(beam.size(), 2u);
  for (size_t i = 0; i < greedy.size(); ++i) {
    EXPECT_GE(beam[i][0].score, greedy[i][0].score - 1e-4);  // beam finds at least greedy's score
    ASSERT_TRUE(greedy[i][0].attention.defined());
  }
  // Its FLOP count is its entry's (the Bahdanau count without maxout), and
  // a type nobody registered is an error, not another model's count.
  ModelConfig plain = c.model;
  plain.type = "bahdanau";
  plain.maxout = false;
  EXPECT_DOUBLE_EQ(forward_flops(c.model, 12, 10, 7), forward_flops(plain, 12, 10, 7));
  ModelConfig unknown = c.model;
  unknown.type = "conditional-gru";
  EXPECT_THROW(forward_flops(unknown, 12, 10, 7), std::invalid_argument);
  EXPECT_THROW(Seq2Seq(unknown, 12, 12), c10::Error);
}
