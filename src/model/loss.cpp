#include "model/loss.h"

#include "data/vocab.h"

namespace attn {

using torch::Tensor;

Tensor attention_entropy(const Tensor& w) {
  // clamp keeps log finite at a = 0; those terms are 0 * finite = 0.
  return -(w * torch::log(w.clamp_min(1e-30))).sum(-1);
}

LossOutput seq2seq_loss(const Tensor& logits, const Tensor& target, const Tensor& attention, double eps,
                        double lambda) {
  Tensor logp = torch::log_softmax(logits, -1);                   // [..., V], e.g. [N, V] real positions
  Tensor mask = target.ne(Vocab::kPad);                           // [...]
  Tensor maskf = mask.to(logp.scalar_type());
  Tensor nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1);  // [...]
  Tensor per_token = nll;
  if (eps > 0) per_token = (1 - eps) * nll - eps * logp.mean(-1);  // uniform smoothing
  Tensor n = maskf.sum();
  LossOutput o;
  o.loss = (per_token * maskf).sum() / n.clamp_min(1);
  if (attention.defined()) {
    Tensor h = (attention_entropy(attention) * maskf).sum();
    if (lambda != 0) o.loss = o.loss + lambda * h / n.clamp_min(1);
    o.entropy_sum = h.item<double>();
  }
  {
    torch::NoGradGuard ng;
    o.nll_sum = (nll * maskf).sum().item<double>();
    o.tokens = mask.sum().item<int64_t>();
    o.correct = (logits.argmax(-1).eq(target) & mask).sum().item<int64_t>();
  }
  return o;
}

}  // namespace attn
