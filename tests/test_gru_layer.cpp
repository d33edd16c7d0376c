// The fused GRU layer: the same states and gradients as ATen's GRU, by
// finite differences, with and without grad mode, rows of any length order;
// the GRU update and step against nn::GRUCell.
#include <gtest/gtest.h>

#include "ops/gru_layer.h"
#include "test_util.h"

using namespace attn;
using torch::Tensor;

namespace {

struct Case {
  Tensor x, lengths, h0, w_ih, w_hh, b_ih, b_hh;
  std::vector<Tensor> inputs() const { return {x, h0, w_ih, w_hh, b_ih, b_hh}; }
};

// Rows deliberately not sorted by length, one of them empty, one full, and
// one step with a single row (the path without BLAS).
Case make_case(torch::ScalarType type, int64_t I = 5, int64_t H = 4) {
  auto o = torch::TensorOptions().dtype(type);
  Case c;
  c.lengths = torch::tensor({3L, 6L, 0L, 5L, 1L});  // the last step runs one row
  c.x = torch::randn({5, 6, I}, o).requires_grad_();
  c.h0 = torch::randn({5, H}, o).requires_grad_();
  c.w_ih = (torch::randn({3 * H, I}, o) * 0.5).requires_grad_();
  c.w_hh = (torch::randn({3 * H, H}, o) * 0.5).requires_grad_();
  c.b_ih = torch::randn({3 * H}, o).requires_grad_();
  c.b_hh = torch::randn({3 * H}, o).requires_grad_();
  return c;
}

// A scalar reading every output and last state with random weights
// (including padded outputs, whose gradient must go nowhere).
Tensor score(const GruLayerOutput& out, const Tensor& r_out, const Tensor& r_last) {
  return (out.outputs * r_out).sum() + (out.last * r_last).sum();
}

}  // namespace

TEST(GruLayer, SameStatesAndGradientsAsAtenGru) {
  torch::manual_seed(1);
  Case c = make_case(torch::kFloat);
  Tensor r_out = torch::randn({5, 6, 4}), r_last = torch::randn({5, 4});
  auto run = [&](bool fused) {
    auto f = fused ? gru_layer : gru_layer_aten;
    GruLayerOutput out = f(c.x, c.lengths, c.h0, c.w_ih, c.w_hh, c.b_ih, c.b_hh);
    auto grads = torch::autograd::grad({score(out, r_out, r_last)}, c.inputs());
    return std::make_pair(out, grads);
  };
  auto [want, want_grads] = run(false);
  auto [got, got_grads] = run(true);
  EXPECT_TRUE(torch::allclose(got.outputs, want.outputs, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(got.last, want.last, 1e-5, 1e-5));
  // Padding is zero; the empty row keeps h0.
  EXPECT_EQ(got.outputs[0].narrow(0, 3, 3).abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(got.outputs[2].abs().sum().item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(got.last[2], c.h0[2]));
  const char* names[] = {"x", "h0", "w_ih", "w_hh", "b_ih", "b_hh"};
  for (size_t i = 0; i < want_grads.size(); ++i)
    EXPECT_TRUE(torch::allclose(got_grads[i], want_grads[i], 1e-4, 1e-5)) << names[i];
  // Nothing flows to padded input positions.
  EXPECT_EQ(got_grads[0][0].narrow(0, 3, 3).abs().sum().item<float>(), 0.0f);
}

TEST(GruLayer, GradientsMatchFiniteDifferences) {
  torch::manual_seed(2);
  Case c = make_case(torch::kDouble, 3, 2);
  Tensor r_out = torch::randn({5, 6, 2}, torch::kDouble), r_last = torch::randn({5, 2}, torch::kDouble);
  auto f = [&] { return score(gru_layer(c.x, c.lengths, c.h0, c.w_ih, c.w_hh, c.b_ih, c.b_hh), r_out, r_last); };
  attn::test::expect_gradients_match(f, c.inputs());
}

TEST(GruLayer, InferenceEqualsTraining) {
  torch::manual_seed(3);
  Case c = make_case(torch::kFloat);
  GruLayerOutput train = gru_layer(c.x, c.lengths, c.h0, c.w_ih, c.w_hh, c.b_ih, c.b_hh);
  torch::NoGradGuard ng;
  GruLayerOutput infer = gru_layer(c.x, c.lengths, c.h0, c.w_ih, c.w_hh, c.b_ih, c.b_hh);
  EXPECT_FALSE(infer.outputs.requires_grad());
  EXPECT_TRUE(torch::equal(train.outputs, infer.outputs));
  EXPECT_TRUE(torch::equal(train.last, infer.last));
}

TEST(GruLayer, OnlyTheLastStateNeedsNoOutputGradient) {
  // Backward with the outputs unused (the bottleneck's summary reads only
  // the last states) and a second pass over the same graph.
  torch::manual_seed(4);
  Case c = make_case(torch::kFloat);
  auto grads = [&](bool fused) {
    auto f = fused ? gru_layer : gru_layer_aten;
    Tensor s = f(c.x, c.lengths, c.h0, c.w_ih, c.w_hh, c.b_ih, c.b_hh).last.pow(2).sum();
    auto first = torch::autograd::grad({s}, c.inputs(), {}, /*retain_graph=*/true);
    auto second = torch::autograd::grad({s}, c.inputs());
    for (size_t i = 0; i < first.size(); ++i) EXPECT_TRUE(torch::equal(first[i], second[i]));
    return first;
  };
  auto want = grads(false), got = grads(true);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(torch::allclose(got[i], want[i], 1e-4, 1e-5)) << i;
}

TEST(GruUpdate, EqualsGruCell) {
  torch::manual_seed(3);
  torch::nn::GRUCell cell(5, 4);
  Tensor x = torch::randn({3, 5}), h = torch::randn({3, 4});
  Tensor want = cell(x, h);
  Tensor got = gru_update(torch::addmm(cell->bias_ih, x, cell->weight_ih.t()),
                          torch::addmm(cell->bias_hh, h, cell->weight_hh.t()), h);
  EXPECT_TRUE(torch::allclose(got, want, 1e-6, 1e-6));
}

TEST(GruLayer, DecodingStepEqualsGruCell) {
  torch::manual_seed(5);
  torch::nn::GRUCell cell(5, 4);
  Tensor x = torch::randn({3, 5}), h = torch::randn({3, 4});
  Tensor want = cell(x, h);
  Tensor gi = torch::linear(x, cell->weight_ih, cell->bias_ih);
  Tensor trained = gru_step(gi, h, cell->weight_hh, cell->bias_hh);  // grad mode: ATen ops
  EXPECT_TRUE(trained.requires_grad());
  EXPECT_TRUE(torch::allclose(trained, want, 1e-5, 1e-6));
  torch::NoGradGuard ng;
  Tensor decoded = gru_step(gi, h, cell->weight_hh, cell->bias_hh);  // the fused loop
  EXPECT_TRUE(torch::allclose(decoded, want, 1e-5, 1e-6));
}

TEST(GruLayer, RefusesLengthsOutsideTheBatch) {
  Case c = make_case(torch::kFloat);
  EXPECT_THROW(gru_layer(c.x, torch::tensor({3L, 7L, 0L, 6L, 1L}), c.h0, c.w_ih, c.w_hh, c.b_ih, c.b_hh),
               c10::Error);  // 7 of 6 steps
  EXPECT_THROW(gru_layer(c.x, torch::tensor({3L, -1L, 0L, 6L, 1L}), c.h0, c.w_ih, c.w_hh, c.b_ih, c.b_hh),
               c10::Error);
}
