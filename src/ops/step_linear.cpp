#include "ops/step_linear.h"

#include "ops/kernels.h"

namespace attn {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

namespace {

// The step lists travel as a plain argument; c10::List is a reference type,
// so the steps and the gate see one list.
struct StepLists {
  c10::List<Tensor> xs, dys;
};

// y = base + x W^T. Backward returns dx and dbase; W's share goes to the lists.
class StepLinearFunction : public torch::autograd::Function<StepLinearFunction> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w, const Tensor& base,
                        const StepLists& lists) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["xs"] = lists.xs;
    ctx->saved_data["dys"] = lists.dys;
    ctx->saved_data["base_dim"] = base.dim();
    return torch::addmm(base, x, w.t());  // a 1-D base broadcasts over the batch
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    Tensor dy = grads[0];
    ctx->saved_data["xs"].toTensorList().push_back(saved[0]);
    ctx->saved_data["dys"].toTensorList().push_back(dy);
    Tensor dbase;  // none for the constant zero of a map without bias
    if (ctx->needs_input_grad(2)) dbase = ctx->saved_data["base_dim"].toInt() == 2 ? dy : dy.sum(0);
    return {dy.mm(saved[1]), Tensor(), dbase, Tensor()};
  }
};

// Identity on W. Runs after every step that read its output (they list it
// as an input), then turns the recorded pairs into dW with one GEMM and
// empties the lists so a second backward pass starts afresh.
class WeightGateFunction : public torch::autograd::Function<WeightGateFunction> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& w, const StepLists& lists) {
    ctx->set_materialize_grads(false);  // usually nothing but the steps reads the copy
    ctx->saved_data["xs"] = lists.xs;
    ctx->saved_data["dys"] = lists.dys;
    return w.clone();
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto xs = ctx->saved_data["xs"].toTensorList();
    auto dys = ctx->saved_data["dys"].toTensorList();
    Tensor dw = grads[0];
    if (!xs.empty()) {
      std::vector<Tensor> x(xs.begin(), xs.end()), dy(dys.begin(), dys.end());
      Tensor sum = torch::cat(dy, 0).t().mm(torch::cat(x, 0));  // [out, N] x [N, in]
      dw = dw.defined() ? dw + sum : sum;
    }
    xs.clear();
    dys.clear();
    return {dw, Tensor()};
  }
};

}  // namespace

StepLinear::StepLinear(const Tensor& weight) : weight_(weight), zero_(torch::zeros({}, weight.options())) {
  deferred_ = torch::GradMode::is_enabled() && weight.requires_grad() && kernels() == Kernels::fused;
  if (deferred_) weight_ = WeightGateFunction::apply(weight, StepLists{xs_, dys_});
}

Tensor StepLinear::operator()(const Tensor& x, const Tensor& base) const {
  if (!base.defined()) return (*this)(x, zero_);  // no bias
  if (!deferred_) return torch::addmm(base, x, weight_.t());
  return StepLinearFunction::apply(x, weight_, base, StepLists{xs_, dys_});
}

}  // namespace attn
