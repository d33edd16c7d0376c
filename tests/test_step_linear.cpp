// StepLinear (weight gradients deferred to one GEMM per batch): the same
// values and gradients as plain autograd.
#include <gtest/gtest.h>

#include "ops/step_linear.h"
#include "test_util.h"

using namespace attn;
using torch::Tensor;

namespace {

// A small recurrence using a weight at every step, through StepLinear or
// through plain ops; the weight is a column slice of a larger parameter, as
// in the decoders.
Tensor recurrence(const Tensor& big, const Tensor& bias, const Tensor& per_step, bool deferred) {
  Tensor w = big.narrow(1, 2, 4);  // [5, 4]
  StepLinear lin(w);
  Tensor h = torch::ones({3, 4}) * 0.1;
  Tensor total = torch::zeros({});
  for (int64_t t = 0; t < per_step.size(1); ++t) {
    Tensor base = t % 2 ? bias : per_step.select(1, t);  // a bias, or a per-step [B, out] base
    Tensor y = deferred ? lin(h, base) : torch::addmm(base, h, w.t());
    Tensor z = deferred ? lin(h) : torch::mm(h, w.t());  // no bias
    h = torch::tanh(y.narrow(1, 0, 4) + 0.5 * z.narrow(1, 1, 4));
    total = total + (h * h).sum() + big.sum() * 0.01;  // W also used the ordinary way
  }
  return total;
}

}  // namespace

TEST(StepLinear, SameValuesAndGradientsAsPlainAutograd) {
  torch::manual_seed(1);
  Tensor big = torch::randn({5, 7}).requires_grad_();
  Tensor bias = torch::randn({5}).requires_grad_();
  Tensor per_step = torch::randn({3, 6, 5}).requires_grad_();
  Tensor plain = recurrence(big, bias, per_step, false);
  auto want = torch::autograd::grad({plain}, {big, bias, per_step});
  Tensor deferred = recurrence(big, bias, per_step, true);
  EXPECT_NEAR(deferred.item<float>(), plain.item<float>(), 1e-4);
  for (int pass = 0; pass < 2; ++pass) {  // a second backward pass starts afresh
    auto got = torch::autograd::grad({deferred}, {big, bias, per_step}, {}, /*retain_graph=*/true);
    for (size_t i = 0; i < 3; ++i)
      EXPECT_TRUE(torch::allclose(got[i], want[i], 1e-4, 1e-5)) << "pass " << pass << " input " << i;
  }
}

TEST(StepLinear, GradientsMatchFiniteDifferences) {
  torch::manual_seed(2);
  auto dbl = torch::TensorOptions().dtype(torch::kDouble);
  Tensor w = torch::randn({3, 2}, dbl).requires_grad_();
  Tensor b = torch::randn({3}, dbl).requires_grad_();
  Tensor x0 = torch::randn({2, 2}, dbl).requires_grad_();
  test::expect_gradients_match(
      [&] {
        StepLinear lin(w);
        Tensor x = x0, total = torch::zeros({}, dbl);
        for (int t = 0; t < 3; ++t) {
          Tensor y = torch::tanh(lin(x, b));
          total = total + y.sum() * (t + 1);
          x = y.narrow(1, 0, 2);
        }
        return total;
      },
      {w, b, x0});
}

TEST(StepLinear, WithoutGradModeIsPlainLinear) {
  torch::NoGradGuard ng;
  Tensor w = torch::randn({3, 2}, torch::requires_grad()), x = torch::randn({4, 2}), b = torch::randn({3});
  EXPECT_TRUE(torch::allclose(StepLinear(w)(x, b), torch::addmm(b, x, w.t())));
}
