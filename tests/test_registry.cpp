// The registry of model types and attention scores: a new score is one class
// and one register_score() entry, and then config validation, the model,
// training, search and the FLOP count all take it; built-in entries keep
// their rules.
#include <gtest/gtest.h>

#include <cmath>

#include "config/registry.h"
#include "data/batch.h"
#include "model/attention.h"
#include "model/flops.h"
#include "model/seq2seq.h"
#include "search/search.h"

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
