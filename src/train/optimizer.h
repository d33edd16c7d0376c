// Optimisers and learning-rate schedules behind one small interface, so the
// trainer and checkpoints treat Adam, SGD and Adadelta alike.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "config/config.h"

namespace attn {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  virtual void zero_grad() = 0;
  virtual void set_lr(double lr) = 0;
  virtual void save(torch::serialize::OutputArchive& a) = 0;
  virtual void load(torch::serialize::InputArchive& a) = 0;
};

// Adadelta (Zeiler 2012), the optimiser of Bahdanau et al. 2014; LibTorch's
// C++ API has none. Update: dx = -sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g.
class Adadelta : public Optimizer {
 public:
  Adadelta(std::vector<torch::Tensor> params, double lr, double rho = 0.95, double eps = 1e-6);
  void step() override;
  void zero_grad() override;
  void set_lr(double lr) override { lr_ = lr; }
  void save(torch::serialize::OutputArchive& a) override;
  void load(torch::serialize::InputArchive& a) override;

 private:
  std::vector<torch::Tensor> params_, sq_grad_, sq_delta_;
  double lr_, rho_, eps_;
};

std::unique_ptr<Optimizer> make_optimizer(const TrainConfig& c, std::vector<torch::Tensor> params);

// Learning rate per update and after each validation.
class Schedule {
 public:
  explicit Schedule(const TrainConfig& c) : c_(c), lr_(c.lr) {}
  // Before update `step` (1-based); budget_used: the share of max_steps or
  // max_minutes spent so far (whichever is further), read by "linear".
  double lr_at(int64_t step, double budget_used = 0.0) const;
  void on_validation(double metric, bool better);  // plateau decay
  nlohmann::json state() const { return {{"lr", lr_}, {"bad", bad_}}; }
  void restore(const nlohmann::json& j) {
    lr_ = j.at("lr").get<double>();
    bad_ = j.at("bad").get<int>();
  }

 private:
  TrainConfig c_;
  double lr_;
  int bad_ = 0;
};

}  // namespace attn
