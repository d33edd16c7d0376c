#include <gtest/gtest.h>

#include <cmath>

#include "data/vocab.h"
#include "model/loss.h"

using namespace attn;
using torch::Tensor;

TEST(Loss, IgnoresPaddingAndMatchesHandValue) {
  // One real token with p = softmax([0, ln 3]) -> p(target=1) = 3/4; one PAD.
  Tensor logits = torch::tensor({0.0f, std::log(3.0f), 5.0f, -2.0f}).view({1, 2, 2});
  Tensor target = torch::tensor(std::vector<int64_t>{1, Vocab::kPad}).view({1, 2});
  auto l = seq2seq_loss(logits, target, Tensor(), 0.0, 0.0);
  EXPECT_NEAR(l.loss.item<float>(), -std::log(0.75f), 1e-6);
  EXPECT_EQ(l.tokens, 1);
  EXPECT_EQ(l.correct, 1);
}

TEST(Loss, LabelSmoothingMixesUniform) {
  Tensor logits = torch::tensor({0.0f, std::log(3.0f)}).view({1, 1, 2});
  Tensor target = torch::tensor({1L}).view({1, 1});
  auto l = seq2seq_loss(logits, target, Tensor(), 0.2, 0.0);
  double want = 0.8 * -std::log(0.75) + 0.2 * -(std::log(0.25) + std::log(0.75)) / 2;
  EXPECT_NEAR(l.loss.item<float>(), want, 1e-6);
  EXPECT_NEAR(l.nll_sum, -std::log(0.75), 1e-6);  // perplexity ignores smoothing
}

TEST(Loss, EntropyOfAttention) {
  Tensor w = torch::tensor({0.5, 0.5, 0.0, 1.0, 0.0, 0.0}, torch::kDouble).view({2, 3});
  Tensor h = attention_entropy(w);
  EXPECT_NEAR(h[0].item<double>(), std::log(2.0), 1e-12);
  EXPECT_EQ(h[1].item<double>(), 0.0);
}

TEST(Loss, EntropyRegulariserSignSharpensOrSpreads) {
  Tensor logits = torch::zeros({1, 1, 3});
  Tensor target = torch::tensor({1L}).view({1, 1});
  Tensor s = torch::tensor({1.0f, 0.0f, 0.0f}).view({1, 1, 3}).requires_grad_(true);
  auto grad_for = [&](double lambda) {
    if (s.grad().defined()) s.grad().zero_();
    Tensor w = torch::softmax(s, -1);
    seq2seq_loss(logits, target, w, 0.0, lambda).loss.backward();
    return s.grad()[0][0][0].item<float>();
  };
  // loss += lambda * H: a descent step on positive lambda raises the top
  // score (sharper, lower entropy); negative lambda lowers it (spread).
  EXPECT_LT(grad_for(1.0), 0.0f);
  EXPECT_GT(grad_for(-1.0), 0.0f);
  auto plain = seq2seq_loss(logits, target, torch::softmax(s, -1), 0.0, 0.0);
  auto reg = seq2seq_loss(logits, target, torch::softmax(s, -1), 0.0, 0.5);
  EXPECT_NEAR(reg.loss.item<float>() - plain.loss.item<float>(), 0.5 * plain.entropy_sum, 1e-6);
}
