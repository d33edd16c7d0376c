#include "ops/kernels.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace attn {

namespace {
// ATTN_KERNELS: unset or empty means fused; "fused" or "aten"; anything else
// is no choice (nullopt), which the CLI reports before any op runs.
std::optional<Kernels> from_environment() {
  const char* v = std::getenv("ATTN_KERNELS");
  if (!v || !*v || std::strcmp(v, "fused") == 0) return Kernels::fused;
  if (std::strcmp(v, "aten") == 0) return Kernels::aten;
  return std::nullopt;
}
std::atomic<Kernels>& choice() {
  static std::atomic<Kernels> k{from_environment().value_or(Kernels::fused)};
  return k;
}
}  // namespace

Kernels kernels() { return choice().load(std::memory_order_relaxed); }
void set_kernels(Kernels k) { choice().store(k, std::memory_order_relaxed); }
const char* invalid_kernels_environment() { return from_environment() ? nullptr : std::getenv("ATTN_KERNELS"); }
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
