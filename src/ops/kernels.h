// Which implementation the ops in this folder run, chosen here for the whole
// process: the fused CPU kernels wherever they apply (the default), or ATen
// everywhere, the reference they are tested against and what runs on other
// devices. Every op (gru_layer, gru_step, row_linear, StepLinear, the
// attention scores and context) has the same call either way; callers do not
// choose. ATTN_KERNELS=aten in the environment selects the reference for a
// run (to compare outputs or speed); tests use ScopedKernels.
#pragma once
#include <torch/torch.h>

#include <initializer_list>

namespace attn {

enum class Kernels { fused, aten };

Kernels kernels();
void set_kernels(Kernels k);
const char* kernels_name();  // "fused" or "aten": for attn info and bench JSON
// ATTN_KERNELS's value when it is neither unset, empty, "fused" nor "aten"
// (a typo must not quietly run the default); nullptr otherwise.
const char* invalid_kernels_environment();

// Whether the fused kernels run for these tensors: the setting is fused and
// each defined tensor is on the CPU, float or double, all of one type.
bool fused_kernels_for(std::initializer_list<const torch::Tensor*> tensors);

// Sets the choice for a scope (tests), restoring the previous one after.
class ScopedKernels {
 public:
  explicit ScopedKernels(Kernels k) : before_(kernels()) { set_kernels(k); }
  ~ScopedKernels() { set_kernels(before_); }
  ScopedKernels(const ScopedKernels&) = delete;
  ScopedKernels& operator=(const ScopedKernels&) = delete;

 private:
  Kernels before_;
};

}  // namespace attn
