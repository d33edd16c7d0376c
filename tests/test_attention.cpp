// Attention layers: hand-computed 2x3 examples, distribution properties,
// masking, local windows, temperature, and finite-difference gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "model/attention.h"
#include "test_util.h"

using namespace attn;
using torch::Tensor;

namespace {

auto dbl = torch::TensorOptions().dtype(torch::kDouble);

// Keys for the hand examples: one sentence, 3 positions, size 2.
Tensor keys3() { return torch::tensor({0.0, 0.0, 1.0, 1.0, -1.0, 0.0}, dbl).view({1, 3, 2}); }

AttentionMemory memory(AttentionImpl& a, const Tensor& values, const Tensor& len) {
  Tensor mask = torch::arange(values.size(1)).unsqueeze(0) < len.unsqueeze(1);
  return {values, a.project_keys(values), mask, len};
}

std::vector<double> softmax(const std::vector<double>& e) {
  double m = *std::max_element(e.begin(), e.end()), z = 0;
  std::vector<double> p;
  for (double x : e) z += std::exp(x - m);
  for (double x : e) p.push_back(std::exp(x - m) / z);
  return p;
}

void expect_weights(const Tensor& w, const std::vector<double>& want) {
  ASSERT_EQ(w.numel(), static_cast<int64_t>(want.size()));
  Tensor flat = w.reshape(-1);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(flat[i].item<double>(), want[i], 1e-12) << "position " << i;
}

void set(Tensor p, std::vector<double> v) {
  torch::NoGradGuard ng;
  p.copy_(torch::tensor(v, dbl).view(p.sizes()));
}

AttentionConfig cfg(const std::string& score) {
  AttentionConfig c;
  c.score = score;
  c.max_src_len = 5;
  c.window = 1;
  return c;
}

}  // namespace

TEST(AttentionHand, AdditiveMatchesFormula) {
  AdditiveAttentionImpl a(2, 2, 2, false, 1.0, 0.0);
  a.to(torch::kDouble);
  set(a.query_layer->weight, {1, 0, 0, 1});  // W = I
  set(a.key_layer->weight, {1, 0, 0, 1});    // U = I
  set(a.key_layer->bias, {0, 0});
  set(a.v->weight, {1, 1});
  Tensor q = torch::tensor({1.0, 0.0}, dbl).view({1, 1, 2});
  auto out = a.forward(q, memory(a, keys3(), torch::tensor({3L})), Tensor());
  // e_j = sum(tanh(q + h_j))
  std::vector<double> e = {std::tanh(1.0) + std::tanh(0.0), std::tanh(2.0) + std::tanh(1.0), 0.0};
  auto p = softmax(e);
  expect_weights(out.weights, p);
  EXPECT_NEAR(out.context[0][0][0].item<double>(), p[1] * 1 + p[2] * -1, 1e-12);
  EXPECT_NEAR(out.context[0][0][1].item<double>(), p[1] * 1, 1e-12);
}

TEST(AttentionHand, DotMatchesFormula) {
  auto a = make_attention(cfg("dot"), 2, 2, 2);
  a->to(torch::kDouble);
  Tensor q = torch::tensor({2.0, -1.0}, dbl).view({1, 1, 2});
  auto out = a->forward(q, memory(*a, keys3(), torch::tensor({3L})), Tensor());
  expect_weights(out.weights, softmax({0.0, 1.0, -2.0}));
}

TEST(AttentionHand, GeneralMatchesFormula) {
  auto a = std::dynamic_pointer_cast<GeneralAttentionImpl>(make_attention(cfg("general"), 2, 2, 2));
  a->to(torch::kDouble);
  set(a->key_layer->weight, {1, 2, 0, 1});  // W = [[1,2],[0,1]]
  Tensor q = torch::tensor({1.0, 1.0}, dbl).view({1, 1, 2});
  auto out = a->forward(q, memory(*a, keys3(), torch::tensor({3L})), Tensor());
  // q^T W h: W h1 = 0; W h2 = [3,1] -> 4; W h3 = [-1,0] -> -1
  expect_weights(out.weights, softmax({0.0, 4.0, -1.0}));
}

TEST(AttentionHand, ConcatIsAdditiveForm) {
  auto a = std::dynamic_pointer_cast<AdditiveAttentionImpl>(make_attention(cfg("concat"), 2, 2, 2));
  ASSERT_TRUE(a);
  a->to(torch::kDouble);
  set(a->query_layer->weight, {0.5, 0, 0, 0.5});
  set(a->key_layer->weight, {1, 0, 0, -1});
  set(a->key_layer->bias, {0.1, 0});
  set(a->v->weight, {2, -1});
  Tensor q = torch::tensor({1.0, 2.0}, dbl).view({1, 1, 2});
  auto out = a->forward(q, memory(*a, keys3(), torch::tensor({3L})), Tensor());
  std::vector<double> e;
  double h[3][2] = {{0, 0}, {1, 1}, {-1, 0}};
  for (auto& k : h) e.push_back(2 * std::tanh(0.5 + k[0] + 0.1) - std::tanh(1.0 - k[1]));
  expect_weights(out.weights, softmax(e));
}

TEST(AttentionHand, LocationUsesQueryOnly) {
  auto a = std::dynamic_pointer_cast<LocationAttentionImpl>(make_attention(cfg("location"), 2, 2, 2));
  a->to(torch::kDouble);
  set(a->layer->weight, {1, 0, 0, 1, 1, 1, 9, 9, 9, 9});  // 5 x 2
  set(a->layer->bias, {0, 0, 0.5, 0, 0});
  Tensor q = torch::tensor({1.0, -1.0}, dbl).view({1, 1, 2});
  auto out = a->forward(q, memory(*a, keys3(), torch::tensor({3L})), Tensor());
  expect_weights(out.weights, softmax({1.0, -1.0, 0.5}));
}

TEST(AttentionHand, LocalMWindowAndGaussian) {
  auto c = cfg("local-m");
  c.window = 1;
  auto a = std::dynamic_pointer_cast<LocalAttentionImpl>(make_attention(c, 2, 2, 2));
  a->to(torch::kDouble);
  set(a->key_layer->weight, {1, 0, 0, 1});
  Tensor q = torch::tensor({1.0, 0.0}, dbl).view({1, 1, 2});
  // step 0: window [0, 1]; sigma 0.5 -> log prior -(s-0)^2 / 0.5
  auto out = a->forward(q, memory(*a, keys3(), torch::tensor({3L})), torch::tensor({0L}));
  auto p = softmax({0.0 - 0.0, 1.0 - 2.0});
  expect_weights(out.weights, {p[0], p[1], 0.0});
}

TEST(Attention, WeightsAreADistributionAndZeroOnPadding) {
  torch::manual_seed(1);
  for (const std::string s : {"additive", "dot", "general", "concat", "location", "local-m", "local-p"}) {
    auto a = make_attention(cfg(s), 4, 4, 4);
    Tensor values = torch::randn({3, 5, 4});
    Tensor len = torch::tensor({5L, 2L, 3L});
    Tensor q = torch::randn({3, 4, 4});
    auto out = a->forward(q, memory(*a, values, len), torch::arange(4));
    EXPECT_TRUE(torch::allclose(out.weights.sum(-1), torch::ones({3, 4}), 1e-6, 1e-6)) << s;
    EXPECT_GE(out.weights.min().item<float>(), 0.0f) << s;
    EXPECT_EQ(out.weights[1].narrow(1, 2, 3).abs().sum().item<float>(), 0.0f) << s << ": weight on padding";
    EXPECT_EQ(out.weights[2].narrow(1, 3, 2).abs().sum().item<float>(), 0.0f) << s << ": weight on padding";
    EXPECT_FALSE(out.weights.isnan().any().item<bool>()) << s;
  }
}

TEST(Attention, LocalIsZeroOutsideItsWindow) {
  torch::manual_seed(2);
  for (const std::string s : {"local-m", "local-p"}) {
    auto c = cfg(s);
    c.window = 2;
    auto a = std::dynamic_pointer_cast<LocalAttentionImpl>(make_attention(c, 4, 4, 4));
    Tensor values = torch::randn({2, 12, 4});
    Tensor len = torch::tensor({12L, 9L});
    Tensor q = torch::randn({2, 6, 4});
    Tensor pos = torch::arange(6);
    auto mem = memory(*a, values, len);
    auto out = a->forward(q, mem, pos);
    Tensor centre = a->centres(q, mem, pos);  // [2, 6]
    for (int b = 0; b < 2; ++b)
      for (int t = 0; t < 6; ++t)
        for (int j = 0; j < 12; ++j)
          if (std::abs(j - centre[b][t].item<double>()) > 2.0)
            EXPECT_EQ(out.weights[b][t][j].item<float>(), 0.0f) << s << " b" << b << " t" << t << " j" << j;
  }
}

TEST(Attention, TemperatureToZeroApproachesArgmax) {
  torch::manual_seed(3);
  auto c = cfg("dot");
  Tensor values = torch::randn({1, 6, 4});
  Tensor q = torch::randn({1, 1, 4});
  Tensor len = torch::tensor({6L});
  c.temperature = 1.0;
  auto a1 = make_attention(c, 4, 4, 4);
  auto w1 = a1->forward(q, memory(*a1, values, len), Tensor()).weights;
  c.temperature = 1e-3;
  auto a0 = make_attention(c, 4, 4, 4);
  auto w0 = a0->forward(q, memory(*a0, values, len), Tensor()).weights;
  int64_t arg = w1.argmax(-1).item<int64_t>();
  EXPECT_GT(w0[0][0][arg].item<float>(), 0.999f);
  EXPECT_LT(w1.max().item<float>(), w0.max().item<float>());
}

TEST(Attention, CoverageChangesScores) {
  torch::manual_seed(4);
  AdditiveAttentionImpl a(4, 4, 4, true, 1.0, 0.0);
  Tensor values = torch::randn({1, 5, 4}), q = torch::randn({1, 1, 4});
  auto mem = memory(a, values, torch::tensor({5L}));
  auto w0 = a.forward(q, mem, Tensor(), torch::zeros({1, 5})).weights;
  auto w1 = a.forward(q, mem, Tensor(), torch::tensor({{3.0f, 0.0f, 0.0f, 0.0f, 0.0f}})).weights;
  EXPECT_FALSE(torch::allclose(w0, w1));
  EXPECT_TRUE(torch::allclose(w1.sum(-1), torch::ones({1, 1})));
}

// d(sum(R1 * context) + sum(R2 * weights)) for query, keys and parameters.
TEST(AttentionGradients, EveryScoreMatchesFiniteDifferences) {
  for (const std::string s : {"additive", "dot", "general", "concat", "location", "local-m", "local-p"}) {
    SCOPED_TRACE(s);
    torch::manual_seed(5);
    auto c = cfg(s);
    c.window = 2;
    auto a = make_attention(c, 3, 3, 3);
    a->to(torch::kDouble);
    Tensor values = torch::randn({2, 4, 3}, dbl).requires_grad_(true);
    Tensor q = torch::randn({2, 2, 3}, dbl).requires_grad_(true);
    Tensor len = torch::tensor({4L, 3L});
    Tensor r1 = torch::randn({2, 2, 3}, dbl), r2 = torch::randn({2, 2, 4}, dbl);
    auto f = [&] {
      auto out = a->forward(q, memory(*a, values, len), torch::arange(2));
      return (out.context * r1).sum() + (out.weights * r2).sum();
    };
    std::vector<Tensor> inputs = {q, values};
    for (auto& p : a->parameters()) inputs.push_back(p);
    attn::test::expect_gradients_match(f, inputs);
  }
}

TEST(AttentionGradients, CoverageMatchesFiniteDifferences) {
  torch::manual_seed(6);
  AdditiveAttentionImpl a(3, 3, 3, true, 0.7, 0.0);
  a.to(torch::kDouble);
  Tensor values = torch::randn({2, 4, 3}, dbl).requires_grad_(true);
  Tensor q = torch::randn({2, 1, 3}, dbl).requires_grad_(true);
  Tensor cov = torch::rand({2, 4}, dbl).requires_grad_(true);
  Tensor r = torch::randn({2, 1, 4}, dbl);
  auto f = [&] { return (a.forward(q, memory(a, values, torch::tensor({4L, 2L})), Tensor(), cov).weights * r).sum(); };
  std::vector<Tensor> inputs = {q, values, cov};
  for (auto& p : a.parameters()) inputs.push_back(p);
  attn::test::expect_gradients_match(f, inputs);
}

TEST(Attention, DecodingRowMapsEqualCopiedRows) {
  // Searches drop and reorder rows; without grad mode the memory maps rows
  // instead of copying. Every score must give what a copied memory gives,
  // for one query (fused kernels) and several (ATen, materialised rows).
  torch::manual_seed(4);
  Tensor idx = torch::tensor({2L, 0L, 2L, 1L});
  for (const std::string s : {"additive", "dot", "general", "concat", "location", "local-m", "local-p"}) {
    auto a = make_attention(cfg(s), 4, 4, 4);
    Tensor values = torch::randn({3, 5, 4}), len = torch::tensor({5L, 2L, 3L});
    Tensor mask = torch::arange(5).unsqueeze(0) < len.unsqueeze(1);
    torch::NoGradGuard ng;
    AttentionMemory mapped = a->memory(values, mask, len).index_select(idx).index_select(torch::tensor({3L, 1L, 0L}));
    Tensor order = torch::tensor({1L, 0L, 2L});  // idx[{3, 1, 0}]
    Tensor copied_values = values.index_select(0, order);
    AttentionMemory copied = a->memory(copied_values, mask.index_select(0, order), len.index_select(0, order));
    EXPECT_TRUE(mapped.by_rows) << s;
    EXPECT_TRUE(torch::equal(mapped.rows, order)) << s;
    EXPECT_EQ(mapped.values.size(0), 3) << s << ": nothing copied";
    for (int64_t T : {1, 3}) {
      Tensor q = torch::randn({3, T, 4});
      auto got = a->forward(q, mapped, torch::arange(T)), want = a->forward(q, copied, torch::arange(T));
      EXPECT_TRUE(torch::allclose(got.weights, want.weights, 1e-6, 1e-6)) << s << " T=" << T;
      EXPECT_TRUE(torch::allclose(got.context, want.context, 1e-6, 1e-6)) << s << " T=" << T;
    }
  }
}
