#include "search/ensemble.h"

#include <algorithm>
#include <stdexcept>

#include "search/search.h"

namespace attn {

using torch::Tensor;

Ensemble::Ensemble(std::vector<Seq2SeqImpl*> members) : members_(std::move(members)) {
  if (members_.empty()) throw std::invalid_argument("an ensemble needs at least one model");
}

bool Ensemble::has_attention() const {
  for (auto* m : members_)
    if (m->decoder->has_attention()) return true;
  return false;
}

int64_t Ensemble::max_source_tokens() const {
  int64_t limit = 0;
  for (auto* m : members_)
    if (int64_t l = m->max_source_tokens()) limit = limit ? std::min(limit, l) : l;
  return limit;
}

void Ensemble::start(const Batch& batch) {
  mem_.clear();
  state_.clear();
  for (auto* m : members_) {
    auto [mem, st] = m->decoder->start(m->encode(batch.src, batch.src_len));
    mem_.push_back(std::move(mem));
    state_.push_back(std::move(st));
  }
}

EnsembleStep combine_members(const std::vector<StepOutput>& outputs) {
  EnsembleStep out;
  int attending = 0;
  for (const StepOutput& s : outputs) {
    Tensor logp = torch::log_softmax(s.logits.to(torch::kFloat), -1);
    out.logp = out.logp.defined() ? out.logp.add_(logp) : logp;
    if (s.attention.defined()) {
      out.attention = out.attention.defined() ? out.attention + s.attention : s.attention;
      ++attending;
    }
  }
  // One member, the common case at batch 1, costs no extra op.
  if (outputs.size() > 1) out.logp.div_(static_cast<double>(outputs.size()));
  if (attending > 1) out.attention = out.attention / attending;
  return out;
}

EnsembleStep Ensemble::step(const Tensor& y_prev) {
  std::vector<StepOutput> outputs;
  outputs.reserve(members_.size());
  for (size_t i = 0; i < members_.size(); ++i) outputs.push_back(members_[i]->decoder->step(mem_[i], state_[i], y_prev));
  EnsembleStep out = combine_members(outputs);
  mask_never_output(out.logp);
  return out;
}

void Ensemble::select(const Tensor& idx, bool memory_too) {
  for (size_t i = 0; i < members_.size(); ++i) {
    state_[i] = state_[i].index_select(idx);
    if (memory_too) mem_[i] = mem_[i].index_select(idx);
  }
}

}  // namespace attn
