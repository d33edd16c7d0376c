#include <gtest/gtest.h>

#include <cmath>

#include "eval/validation.h"
#include "train/optimizer.h"
#include "train/trainer.h"

using namespace attn;

TEST(Optimizer, AdadeltaFollowsZeiler) {
  torch::Tensor p = torch::tensor({1.0, -2.0}, torch::kDouble).requires_grad_(true);
  Adadelta opt({p}, 1.0, 0.9, 1e-6);
  double x = 1.0, eg = 0, edx = 0;
  for (int i = 0; i < 3; ++i) {
    opt.zero_grad();
    (p * p).sum().backward();  // gradient 2p
    opt.step();
    double g = 2 * x;
    eg = 0.9 * eg + 0.1 * g * g;
    double dx = -std::sqrt(edx + 1e-6) / std::sqrt(eg + 1e-6) * g;
    edx = 0.9 * edx + 0.1 * dx * dx;
    x += dx;
    EXPECT_NEAR(p[0].item<double>(), x, 1e-12) << "step " << i;
  }
}

TEST(Optimizer, AllKindsReduceAQuadratic) {
  for (const std::string kind : {"adam", "sgd", "adadelta"}) {
    TrainConfig c;
    c.optimizer = kind;
    c.lr = kind == "adadelta" ? 1.0 : 0.05;
    torch::Tensor p = torch::full({3}, 2.0).requires_grad_(true);
    auto opt = make_optimizer(c, {p});
    for (int i = 0; i < 50; ++i) {
      opt->zero_grad();
      (p * p).sum().backward();
      opt->step();
    }
    EXPECT_LT((p * p).sum().item<float>(), 12.0f) << kind;
  }
}

TEST(Schedule, InverseSqrtWarmsUpThenDecays) {
  TrainConfig c;
  c.schedule = "inverse_sqrt";
  c.lr = 1.0;
  c.warmup = 100;
  Schedule s(c);
  EXPECT_NEAR(s.lr_at(10), 0.1, 1e-12);
  EXPECT_NEAR(s.lr_at(100), 1.0, 1e-12);
  EXPECT_NEAR(s.lr_at(400), 0.5, 1e-12);
}

TEST(Schedule, LinearWarmsUpThenFallsToMinLrAtTheEndOfTheBudget) {
  TrainConfig c;
  c.schedule = "linear";
  c.lr = 1.0;
  c.min_lr = 0.2;
  c.warmup = 100;
  Schedule s(c);
  EXPECT_NEAR(s.lr_at(10, 0.0), 0.1, 1e-12);   // warm-up: 10 of 100 steps
  EXPECT_NEAR(s.lr_at(100, 0.0), 1.0, 1e-12);  // peak
  EXPECT_NEAR(s.lr_at(500, 0.5), 0.6, 1e-12);  // half the budget: half-way from 1.0 to 0.2
  EXPECT_NEAR(s.lr_at(900, 1.0), 0.2, 1e-12);  // end of the budget
  EXPECT_NEAR(s.lr_at(990, 1.3), 0.2, 1e-12);  // past it (the last update's validation): no lower
  EXPECT_NEAR(s.lr_at(50, 0.5), 0.3, 1e-12);   // a time budget half gone during warm-up: both apply
  c.warmup = 0;
  Schedule nowarm(c);
  EXPECT_NEAR(nowarm.lr_at(1, 0.25), 0.8, 1e-12);
}

TEST(Schedule, PlateauDecaysAfterPatienceAndStopsAtFloor) {
  TrainConfig c;
  c.schedule = "plateau";
  c.lr = 1.0;
  c.decay_factor = 0.5;
  c.decay_patience = 1;
  c.min_lr = 0.3;
  Schedule s(c);
  s.on_validation(1.0, true);
  s.on_validation(1.0, false);
  EXPECT_DOUBLE_EQ(s.lr_at(1), 1.0);  // one bad validation is within patience
  s.on_validation(1.0, false);
  EXPECT_DOUBLE_EQ(s.lr_at(1), 0.5);
  s.on_validation(1.0, false);
  s.on_validation(1.0, false);
  EXPECT_DOUBLE_EQ(s.lr_at(1), 0.3);
  Schedule restored(c);
  restored.restore(s.state());
  EXPECT_DOUBLE_EQ(restored.lr_at(1), 0.3);
  TrainConfig k;
  Schedule constant(k);
  constant.on_validation(0, false);
  EXPECT_DOUBLE_EQ(constant.lr_at(999), k.lr);
}

TEST(Metric, Direction) {
  EXPECT_TRUE(metric_named("loss").better(1.0, 2.0));
  EXPECT_TRUE(metric_named("bleu").better(2.0, 1.0));
  EXPECT_FALSE(metric_named("exact_match").better(0.1, 0.2));
  EXPECT_TRUE(metric_named("ppl").better(3.0, 4.0));
}
