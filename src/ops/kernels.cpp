#include "ops/kernels.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace attn {

namespace {
Kernels from_environment() {
  const char* v = std::getenv("ATTN_KERNELS");
  return v && std::strcmp(v, "aten") == 0 ? Kernels::aten : Kernels::fused;
}
std::atomic<Kernels>& choice() {
  static std::atomic<Kernels> k{from_environment()};
  return k;
}
}  // namespace

Kernels kernels() { return choice().load(std::memory_order_relaxed); }
void set_kernels(Kernels k) { choice().store(k, std::memory_order_relaxed); }
const char* invalid_kernels_environment() {
  const char* v = std::getenv("ATTN_KERNELS");
  if (!v || !*v || std::strcmp(v, "fused") == 0 || std::strcmp(v, "aten") == 0) return nullptr;
  return v;
}
const char* kernels_name() { return kernels() == Kernels::fused ? "fused" : "aten"; }

bool fused_kernels_for(std::initializer_list<const torch::Tensor*> tensors) {
  if (kernels() != Kernels::fused) return false;
  c10::ScalarType type = c10::ScalarType::Undefined;
  for (const torch::Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!t->is_cpu()) return false;
    if (type == c10::ScalarType::Undefined) type = t->scalar_type();
    if (t->scalar_type() != type) return false;
  }
  return type == torch::kFloat || type == torch::kDouble;
}

}  // namespace attn
