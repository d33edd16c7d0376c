// row_linear (one-row products without BLAS): the same values as addmm for
// every form of W and base it takes, and addmm itself for everything else.
#include <gtest/gtest.h>

#include "ops/row_linear.h"

using namespace attn;
using torch::Tensor;

TEST(RowLinear, OneRowEqualsAddmm) {
  torch::manual_seed(1);
  for (auto type : {torch::kFloat, torch::kDouble}) {
    auto o = torch::TensorOptions().dtype(type);
    Tensor big = torch::randn({7, 40}, o), x = torch::randn({1, 33}, o);
    Tensor w = big.narrow(1, 5, 33);  // a column slice: rows strided
    Tensor bias = torch::randn({7}, o), base = torch::randn({1, 20}, o).narrow(1, 3, 7);
    torch::NoGradGuard ng;
    for (const Tensor& b : {bias, base, Tensor()}) {
      EXPECT_TRUE(row_linear_fused(x, w, b));
      Tensor want = b.defined() ? torch::addmm(b, x, w.t()) : torch::mm(x, w.t());
      EXPECT_TRUE(torch::allclose(row_linear(x, w, b), want, 1e-5, 1e-6)) << b.dim();
    }
  }
}

TEST(RowLinear, EverythingElseIsAddmm) {
  torch::manual_seed(2);
  Tensor w = torch::randn({6, 5}), b = torch::randn({6}), two = torch::randn({2, 5});
  {
    torch::NoGradGuard ng;
    EXPECT_FALSE(row_linear_fused(two, w, b));  // two rows: BLAS is as fast
    EXPECT_FALSE(row_linear_fused(two.narrow(0, 0, 1), w, b.to(torch::kDouble)));
    EXPECT_TRUE(torch::allclose(row_linear(two, w, b), torch::addmm(b, two, w.t())));
  }
  Tensor x = torch::randn({1, 5}, torch::requires_grad());
  EXPECT_FALSE(row_linear_fused(x, w, b));  // grad mode: autograd's addmm
  EXPECT_TRUE(row_linear(x, w, b).requires_grad());
}

TEST(RowLinear, ApplyLinearKeepsTheShape) {
  torch::manual_seed(3);
  torch::nn::Linear layer(5, 4);
  Tensor x = torch::randn({1, 1, 5});
  Tensor want = layer(x);
  torch::NoGradGuard ng;
  Tensor got = apply_linear(layer, x);
  EXPECT_EQ(got.sizes(), want.sizes());
  EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6));
  Tensor three = torch::randn({3, 1, 5});
  EXPECT_TRUE(torch::allclose(apply_linear(layer, three), layer(three), 1e-5, 1e-6));
}
