#include "train/optimizer.h"

#include <algorithm>
#include <cmath>

namespace attn {

namespace {

// Adam and SGD from LibTorch.
class TorchOptimizer : public Optimizer {
 public:
  explicit TorchOptimizer(std::unique_ptr<torch::optim::Optimizer> o) : o_(std::move(o)) {}
  void step() override { o_->step(); }
  void zero_grad() override { o_->zero_grad(); }
  void set_lr(double lr) override {
    for (auto& g : o_->param_groups()) g.options().set_lr(lr);
  }
  void save(torch::serialize::OutputArchive& a) override { o_->save(a); }
  void load(torch::serialize::InputArchive& a) override { o_->load(a); }

 private:
  std::unique_ptr<torch::optim::Optimizer> o_;
};

}  // namespace

Adadelta::Adadelta(std::vector<torch::Tensor> params, double lr, double rho, double eps)
    : params_(std::move(params)), lr_(lr), rho_(rho), eps_(eps) {
  for (const auto& p : params_) {
    sq_grad_.push_back(torch::zeros_like(p));
    sq_delta_.push_back(torch::zeros_like(p));
  }
}

void Adadelta::step() {
  torch::NoGradGuard ng;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& g = params_[i].grad();
    if (!g.defined()) continue;
    sq_grad_[i].mul_(rho_).addcmul_(g, g, 1 - rho_);
    auto delta = (sq_delta_[i] + eps_).sqrt_().div_((sq_grad_[i] + eps_).sqrt_()).mul_(g);
    sq_delta_[i].mul_(rho_).addcmul_(delta, delta, 1 - rho_);
    params_[i].add_(delta, -lr_);
  }
}

void Adadelta::zero_grad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.grad().zero_();
}

void Adadelta::save(torch::serialize::OutputArchive& a) {
  for (size_t i = 0; i < params_.size(); ++i) {
    a.write("sq_grad." + std::to_string(i), sq_grad_[i], /*is_buffer=*/true);
    a.write("sq_delta." + std::to_string(i), sq_delta_[i], true);
  }
}

void Adadelta::load(torch::serialize::InputArchive& a) {
  for (size_t i = 0; i < params_.size(); ++i) {
    a.read("sq_grad." + std::to_string(i), sq_grad_[i], true);
    a.read("sq_delta." + std::to_string(i), sq_delta_[i], true);
  }
}

std::unique_ptr<Optimizer> make_optimizer(const TrainConfig& c, std::vector<torch::Tensor> params) {
  if (c.optimizer == "adam")
    return std::make_unique<TorchOptimizer>(std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(c.lr)));
  if (c.optimizer == "sgd")
    return std::make_unique<TorchOptimizer>(
        std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(c.lr).momentum(c.momentum)));
  return std::make_unique<Adadelta>(std::move(params), c.lr);
}

double Schedule::lr_at(int64_t step, double budget_used) const {
  double s = static_cast<double>(std::max<int64_t>(step, 1));
  double w = static_cast<double>(std::max(c_.warmup, 1));
  if (c_.schedule == "inverse_sqrt") return c_.lr * std::min(s / w, std::sqrt(w / s));
  if (c_.schedule == "linear") {
    // Linear decay to the end of a fixed budget beats step and plateau
    // schedules when the budget, not convergence, ends training (Li, Yumer
    // and Ramanan 2020, "Budgeted training"); the end comes in minutes or
    // steps, so the decay follows whichever is spent faster.
    double left = std::clamp(1.0 - budget_used, 0.0, 1.0);
    double lr = c_.min_lr + (c_.lr - c_.min_lr) * left;
    return c_.warmup > 0 && s < w ? lr * s / w : lr;
  }
  return lr_;  // constant, or the current plateau value
}

void Schedule::on_validation(double, bool better) {
  if (c_.schedule != "plateau") return;
  if (better) {
    bad_ = 0;
    return;
  }
  if (++bad_ > c_.decay_patience) {
    lr_ = std::max(std::min(c_.min_lr, lr_), lr_ * c_.decay_factor);  // a floor above the lr must not raise it
    bad_ = 0;
  }
}

}  // namespace attn
