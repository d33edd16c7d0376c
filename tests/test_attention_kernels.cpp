// The fused attention kernels: the tanh, each op's forward against the ATen
// formulation, and gradients against autograd of that formulation and
// against finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/attention_kernels.h"
#include "test_util.h"

using namespace attn;
using torch::Tensor;

namespace {

// The unfused formulation: v . tanh(q + k) over [B, T, S, A].
Tensor reference(const Tensor& q, const Tensor& k, const Tensor& v) {
  return torch::matmul(torch::tanh(q.unsqueeze(2) + k.unsqueeze(1)), v);
}

}  // namespace

TEST(AdditiveScore, FastTanhIsWithinOneMillionth) {
  double worst = 0;
  for (int i = -200000; i <= 200000; ++i) {
    float x = static_cast<float>(i) * 1e-4f;  // [-20, 20]
    worst = std::max(worst, std::abs(static_cast<double>(fast_tanh(x)) - std::tanh(static_cast<double>(x))));
  }
  EXPECT_LT(worst, 1e-6);
  EXPECT_EQ(fast_tanh(0.0f), 0.0f);
  EXPECT_EQ(fast_tanh(30.0f), 1.0f);
  EXPECT_EQ(fast_tanh(-30.0f), -1.0f);
  EXPECT_TRUE(std::signbit(fast_tanh(-1e-9f)));
}

TEST(AdditiveScore, HandExample) {
  auto dbl = torch::TensorOptions().dtype(torch::kDouble);
  Tensor q = torch::tensor({1.0, 0.0}, dbl).view({1, 1, 2});
  Tensor k = torch::tensor({0.0, 0.0, 1.0, 1.0, -1.0, 0.0}, dbl).view({1, 3, 2});
  Tensor v = torch::tensor({2.0, -1.0}, dbl);
  Tensor e = additive_scores(q, k, v);
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{1, 1, 3}));
  EXPECT_NEAR(e[0][0][0].item<double>(), 2 * std::tanh(1.0), 1e-12);
  EXPECT_NEAR(e[0][0][1].item<double>(), 2 * std::tanh(2.0) - std::tanh(1.0), 1e-12);
  EXPECT_NEAR(e[0][0][2].item<double>(), 0.0, 1e-12);
}

TEST(AdditiveScore, FloatMatchesAtenForwardAndBackward) {
  torch::manual_seed(3);
  // Sizes that are not multiples of any vector width, several queries per sentence.
  Tensor q = (2 * torch::randn({3, 4, 37})).requires_grad_();
  Tensor k = (2 * torch::randn({3, 5, 37})).requires_grad_();
  Tensor v = torch::randn({37}).requires_grad_();
  Tensor g = torch::randn({3, 4, 5});
  g.select(2, 4).zero_();  // a "masked" position: skipped in backward, gradient still exact
  Tensor fused = additive_scores(q, k, v);
  auto gf = torch::autograd::grad({fused}, {q, k, v}, {g});
  Tensor ref = reference(q, k, v);
  auto gr = torch::autograd::grad({ref}, {q, k, v}, {g});
  EXPECT_TRUE(torch::allclose(fused, ref, 1e-5, 2e-5)) << (fused - ref).abs().max();
  for (size_t i = 0; i < 3; ++i)
    EXPECT_TRUE(torch::allclose(gf[i], gr[i], 1e-4, 1e-4)) << "input " << i << ": " << (gf[i] - gr[i]).abs().max();
}

TEST(AdditiveScore, GradientsMatchFiniteDifferences) {
  torch::manual_seed(4);
  auto dbl = torch::TensorOptions().dtype(torch::kDouble);
  Tensor q = torch::randn({2, 3, 4}, dbl).requires_grad_();
  Tensor k = torch::randn({2, 5, 4}, dbl).requires_grad_();
  Tensor v = torch::randn({4}, dbl).requires_grad_();
  Tensor w = torch::randn({2, 3, 5}, dbl);  // a fixed weighting makes the scalar depend on every score
  test::expect_gradients_match([&] { return (additive_scores(q, k, v) * w).sum(); }, {q, k, v});
}

// dot_scores and attention_context against bmm, with exact zeros among the
// weights (skipped by the kernels) and several queries per sentence.
TEST(AttentionKernels, DotAndContextMatchBmm) {
  torch::manual_seed(5);
  for (int64_t TQ : {1, 3}) {
    Tensor q = torch::randn({4, TQ, 19}).requires_grad_();
    Tensor k = torch::randn({4, 7, 19}).requires_grad_();
    Tensor w = torch::softmax(torch::randn({4, TQ, 7}), -1);
    w.select(2, 6).zero_();
    w.requires_grad_();
    Tensor x = torch::randn({4, 7, 23}).requires_grad_();
    Tensor ge = torch::randn({4, TQ, 7}), gc = torch::randn({4, TQ, 23});

    Tensor e = dot_scores(q, k), e_ref = torch::bmm(q, k.transpose(1, 2));
    EXPECT_TRUE(torch::allclose(e, e_ref, 1e-5, 1e-5));
    auto gd = torch::autograd::grad({e}, {q, k}, {ge});
    auto gd_ref = torch::autograd::grad({e_ref}, {q, k}, {ge});
    for (size_t i = 0; i < 2; ++i) EXPECT_TRUE(torch::allclose(gd[i], gd_ref[i], 1e-5, 1e-5)) << "dot input " << i;

    Tensor c = attention_context(w, x), c_ref = torch::bmm(w, x);
    EXPECT_TRUE(torch::allclose(c, c_ref, 1e-5, 1e-5));
    auto gx = torch::autograd::grad({c}, {w, x}, {gc});
    auto gx_ref = torch::autograd::grad({c_ref}, {w, x}, {gc});
    for (size_t i = 0; i < 2; ++i) EXPECT_TRUE(torch::allclose(gx[i], gx_ref[i], 1e-5, 1e-5)) << "context input " << i;
    // The weight's gradient is exact where the weight is 0 too.
    EXPECT_GT(gx[0].select(2, 6).abs().sum().item<float>(), 0.0f);
  }
}

TEST(AttentionKernels, DotAndContextGradientsMatchFiniteDifferences) {
  torch::manual_seed(6);
  auto dbl = torch::TensorOptions().dtype(torch::kDouble);
  Tensor q = torch::randn({2, 2, 3}, dbl).requires_grad_();
  Tensor k = torch::randn({2, 4, 3}, dbl).requires_grad_();
  Tensor x = torch::randn({2, 4, 5}, dbl).requires_grad_();
  Tensor r = torch::randn({2, 2, 5}, dbl);
  // scores -> softmax -> context: both kernels in one chain, as a decoder uses them.
  test::expect_gradients_match([&] { return (attention_context(torch::softmax(dot_scores(q, k), -1), x) * r).sum(); },
                               {q, k, x});
}

// Three "steps" read the same keys and values through sinks, one more reads
// them with ATen ops; the gradients must equal those of plain autograd, and
// a second backward pass (retain_graph) must give the same again.
TEST(AttentionKernels, GradientSinksGiveTheSameGradients) {
  torch::manual_seed(7);
  Tensor k0 = torch::randn({3, 6, 8}).requires_grad_();
  Tensor x0 = torch::randn({3, 6, 10}).requires_grad_();
  Tensor v = torch::randn({8}).requires_grad_();
  std::vector<Tensor> qs;
  for (int t = 0; t < 3; ++t) qs.push_back(torch::randn({3, 1, 8}));
  auto loss = [&](bool sinks) {
    Tensor k = k0 * 1.5, x = x0 * 0.5;  // non-leaf, as encoder outputs are
    Tensor ks, xs;
    if (sinks) std::tie(k, ks) = gradient_sink(k), std::tie(x, xs) = gradient_sink(x);
    Tensor total = torch::zeros({});
    for (const Tensor& q : qs) {
      Tensor w = torch::softmax(sinks ? additive_scores(q, k, v, ks) : reference(q, k, v), -1);
      Tensor w2 = torch::softmax(sinks ? dot_scores(q, k, ks) : torch::bmm(q, k.transpose(1, 2)), -1);
      Tensor c = sinks ? attention_context(w + w2, x, xs) : torch::bmm(w + w2, x);
      total = total + (c * c).sum();
    }
    return total + torch::bmm(qs[0], k.transpose(1, 2)).sum() + x.pow(2).sum();  // ordinary uses too
  };
  Tensor plain = loss(false);
  auto want = torch::autograd::grad({plain}, {k0, x0, v});
  Tensor sunk = loss(true);
  for (int pass = 0; pass < 2; ++pass) {
    auto got = torch::autograd::grad({sunk}, {k0, x0, v}, {}, /*retain_graph=*/true);
    for (size_t i = 0; i < 3; ++i)
      EXPECT_TRUE(torch::allclose(got[i], want[i], 1e-4, 1e-4)) << "pass " << pass << " input " << i << ": "
                                                                 << (got[i] - want[i]).abs().max();
  }
}

TEST(AdditiveScore, RefusesWhatItCannotTake) {
  Tensor q = torch::randn({2, 1, 4}), k = torch::randn({2, 3, 4}), v = torch::randn({4});
  EXPECT_TRUE(additive_scores_supported(q, k, v));
  EXPECT_FALSE(additive_scores_supported(q, k.to(torch::kDouble), v));
  EXPECT_FALSE(additive_scores_supported(q, torch::randn({2, 3, 5}), v));
  EXPECT_FALSE(additive_scores_supported(q.to(torch::kHalf), k.to(torch::kHalf), v.to(torch::kHalf)));
  EXPECT_THROW(additive_scores(q, torch::randn({3, 3, 4}), v), c10::Error);
  EXPECT_FALSE(batched_rows_supported(q, k.to(torch::kDouble)));
  EXPECT_THROW(attention_context(torch::randn({2, 1, 5}), k), c10::Error);  // 5 weights, 3 rows
  // Row maps: decoding only, long, one per query row, in range.
  Tensor rows = torch::tensor({1L, 1L});
  EXPECT_THROW(additive_scores(q, k, v, {}, rows), c10::Error);  // grad mode is on
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::equal(additive_scores(q, k, v, {}, rows), additive_scores(q, k.index_select(0, rows), v)));
  EXPECT_FALSE(additive_scores_supported(q, k, v, torch::tensor({1L})));
  EXPECT_FALSE(batched_rows_supported(q, k, rows.to(torch::kInt)));
  EXPECT_THROW(dot_scores(q, k, {}, torch::tensor({0L, 2L})), c10::Error);  // k has rows 0 and 1
}
