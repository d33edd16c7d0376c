#include "ops/gru_layer.h"

#include <algorithm>
#include <numeric>

#include "ops/kernel_math.h"
#include "ops/kernels.h"
#include "ops/row_linear.h"

namespace attn {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

namespace {

// Gates of one step for rows [0, n): gi, gh [n, 3H] (r, z, n parts, biases
// included), the previous state hp [n, H]; writes the new state to hn
// [n, H] and, with Save, r, z, n and the n-part of gh to saved [n, 4H].
template <bool Save, typename T>
ATTN_INLINE void gate_rows(const T* __restrict gi, const T* __restrict gh, const T* __restrict hp, T* __restrict hn,
                           T* __restrict saved, int64_t n, int64_t H) {
  for (int64_t b = 0; b < n; ++b) {
    const T *gib = gi + b * 3 * H, *ghb = gh + b * 3 * H, *hpb = hp + b * H;
    T *hnb = hn + b * H, *sb = saved + b * 4 * H;
    for (int64_t j = 0; j < H; ++j) {
      T r = sigmoid_kernel(gib[j] + ghb[j]);
      T z = sigmoid_kernel(gib[H + j] + ghb[H + j]);
      T ghn = ghb[2 * H + j];
      T c = tanh_kernel(gib[2 * H + j] + r * ghn);
      hnb[j] = c + z * (hpb[j] - c);
      if constexpr (Save) sb[j] = r, sb[H + j] = z, sb[2 * H + j] = c, sb[3 * H + j] = ghn;
    }
  }
}

// Backward of gate_rows. dh [n, H] + dy [n, H] (the gradient reaching the
// step's output) is dL/dh'; on return dh holds the part of dL/dh that
// bypasses W_hh (z dL/dh'). hp [n, H] is the previous state.
template <typename T>
ATTN_INLINE void gate_grad_rows(T* __restrict dh, const T* __restrict dy, const T* __restrict saved,
                                const T* __restrict hp, T* __restrict dgi, T* __restrict dgh, int64_t n, int64_t H) {
  for (int64_t b = 0; b < n; ++b) {
    const T *sb = saved + b * 4 * H, *hpb = hp + b * H;
    T *dhb = dh + b * H, *dgib = dgi + b * 3 * H, *dghb = dgh + b * 3 * H;
    for (int64_t j = 0; j < H; ++j) {
      T g = dhb[j] + dy[b * H + j];
      T r = sb[j], z = sb[H + j], c = sb[2 * H + j], ghn = sb[3 * H + j];
      T dc = g * (T(1) - z) * (T(1) - c * c);  // through the tanh
      T dz = g * (hpb[j] - c) * z * (T(1) - z);
      T dr = dc * ghn * r * (T(1) - r);
      dhb[j] = g * z;
      dgib[j] = dr, dgib[H + j] = dz, dgib[2 * H + j] = dc;
      dghb[j] = dr, dghb[H + j] = dz, dghb[2 * H + j] = dc * r;
    }
  }
}

ATTN_CPU_CLONES void gate_rows_f(const float* gi, const float* gh, const float* hp, float* hn, float* saved,
                                 int64_t n, int64_t H) {
  if (saved) gate_rows<true>(gi, gh, hp, hn, saved, n, H); else gate_rows<false>(gi, gh, hp, hn, saved, n, H);
}
ATTN_CPU_CLONES void gate_grad_rows_f(float* dh, const float* dy, const float* saved, const float* hp, float* dgi,
                                      float* dgh, int64_t n, int64_t H) {
  gate_grad_rows(dh, dy, saved, hp, dgi, dgh, n, H);
}

template <typename T>
void k_gates(const T* gi, const T* gh, const T* hp, T* hn, T* saved, int64_t n, int64_t H) {
  if constexpr (kFloat<T>) gate_rows_f(gi, gh, hp, hn, saved, n, H);
  else if (saved) gate_rows<true>(gi, gh, hp, hn, saved, n, H);
  else gate_rows<false>(gi, gh, hp, hn, saved, n, H);
}
template <typename T>
void k_gate_grads(T* dh, const T* dy, const T* saved, const T* hp, T* dgi, T* dgh, int64_t n, int64_t H) {
  if constexpr (kFloat<T>) gate_grad_rows_f(dh, dy, saved, hp, dgi, dgh, n, H);
  else gate_grad_rows(dh, dy, saved, hp, dgi, dgh, n, H);
}

// Rows ordered longest first; step t runs the first n[t] of them. Packed row
// off[t] + k is (row order[k], step t), as in a PackedSequence.
struct Plan {
  std::vector<int64_t> n, off;
  Tensor order;  // [B]: sorted position -> row
  Tensor index;  // [N]: packed row -> row * T + t, in x viewed as [B * T, I]
  Tensor prev;   // [N]: packed row -> its previous state's row in cat(h0 sorted, packed outputs)
  Tensor last;   // [B]: sorted position -> its last state's row in the same
  int64_t rows() const { return prev.size(0); }
};

Plan make_plan(const Tensor& lengths, int64_t T) {
  Tensor len = lengths.to(torch::kLong).contiguous();
  const int64_t* l = len.data_ptr<int64_t>();
  const int64_t B = len.numel();
  for (int64_t b = 0; b < B; ++b)
    TORCH_CHECK(l[b] >= 0 && l[b] <= T, "gru_layer: row ", b, " has length ", l[b], " in a batch of ", T, " steps");
  std::vector<int64_t> order(static_cast<size_t>(B));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return l[a] > l[b]; });
  Plan p;
  std::vector<int64_t> index, prev;
  for (int64_t t = 0, off = 0; B > 0 && t < l[order[0]]; ++t) {
    int64_t n = 0;
    while (n < B && l[order[static_cast<size_t>(n)]] > t) ++n;
    for (int64_t k = 0; k < n; ++k) {
      index.push_back(order[static_cast<size_t>(k)] * T + t);
      prev.push_back(t == 0 ? k : B + p.off.back() + k);
    }
    p.n.push_back(n);
    p.off.push_back(off);
    off += n;
  }
  std::vector<int64_t> last(static_cast<size_t>(B));
  for (int64_t k = 0; k < B; ++k) {
    int64_t n = l[order[static_cast<size_t>(k)]];
    last[static_cast<size_t>(k)] = n == 0 ? k : B + p.off[static_cast<size_t>(n - 1)] + k;
  }
  auto tensor = [](std::vector<int64_t>& v) { return torch::tensor(v, torch::kLong); };
  p.order = tensor(order), p.index = tensor(index), p.prev = tensor(prev), p.last = tensor(last);
  return p;
}

// The recurrence over packed input projections gi [N, 3H] from the sorted
// initial states h0s [B, H]. Returns the packed outputs [N, H]; fills saved
// [N, 4H] if defined. Step t reads its previous states from step t - 1's
// block: its first n_t rows are the rows still running.
template <typename T>
Tensor run_steps(const Plan& p, const Tensor& gi, const Tensor& h0s, const Tensor& w_hh, const Tensor& b_hh,
                 const Tensor& saved) {
  const int64_t H = h0s.size(1);
  Tensor hs = torch::empty({p.rows(), H}, h0s.options());
  Tensor gh = torch::empty({h0s.size(0), 3 * H}, h0s.options());
  Tensor w_t = w_hh.t();
  for (size_t t = 0; t < p.n.size(); ++t) {
    const int64_t n = p.n[t], off = p.off[t];
    Tensor hp = t == 0 ? h0s.narrow(0, 0, n) : hs.narrow(0, p.off[t - 1], n);
    Tensor ghn = gh.narrow(0, 0, n);
    if (row_linear_fused(hp, w_hh, b_hh))
      row_linear_into(hp, w_hh, b_hh, ghn);  // one row left: no BLAS packing
    else
      torch::addmm_out(ghn, b_hh, hp, w_t);
    k_gates(gi.data_ptr<T>() + off * 3 * H, gh.data_ptr<T>(), hp.data_ptr<T>(), hs.data_ptr<T>() + off * H,
            saved.defined() ? saved.data_ptr<T>() + off * 4 * H : nullptr, n, H);
  }
  return hs;
}

// Scatters packed rows [N, D] back to [B, T, D], zero on padding.
Tensor unpack(const Plan& p, const Tensor& packed, int64_t B, int64_t T) {
  Tensor out = torch::zeros({B * T, packed.size(1)}, packed.options());
  out.index_copy_(0, p.index, packed);
  return out.view({B, T, packed.size(1)});
}

Tensor unsort(const Plan& p, const Tensor& sorted) { return torch::empty_like(sorted).index_copy_(0, p.order, sorted); }

// The forward pass: packed inputs xp [N, I], sorted initial states h0s
// [B, H], packed outputs hs [N, H]; saved [N, 4H] is filled if defined.
struct Forward {
  Tensor xp, h0s, hs;
  // outputs [B, T, H] (zero on padding) and each row's last state, in the caller's row order.
  GruLayerOutput result(const Plan& p, int64_t B, int64_t T) const {
    return {unpack(p, hs, B, T), unsort(p, torch::cat({h0s, hs}).index_select(0, p.last))};
  }
};

Forward run_forward(const Plan& p, const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh,
                    const Tensor& b_ih, const Tensor& b_hh, const Tensor& saved) {
  Forward f;
  f.xp = x.reshape({x.size(0) * x.size(1), x.size(2)}).index_select(0, p.index);
  Tensor gi = torch::addmm(b_ih, f.xp, w_ih.t());  // the input projection of every real token at once
  f.h0s = h0.index_select(0, p.order);
  f.hs = by_type(x, [&](auto zero) { return run_steps<decltype(zero)>(p, gi, f.h0s, w_hh, b_hh, saved); });
  return f;
}

// A Plan travels to the autograd function as a plain argument.
class GruLayerFunction : public torch::autograd::Function<GruLayerFunction> {
 public:
  static tensor_list forward(AutogradContext* ctx, const Tensor& x, const Tensor& h0, const Tensor& w_ih,
                             const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, const Plan& p) {
    const int64_t B = x.size(0), T = x.size(1), H = w_hh.size(1);
    Tensor saved = torch::empty({p.rows(), 4 * H}, x.options());
    Forward f = run_forward(p, x, h0, w_ih, w_hh, b_ih, b_hh, saved);
    ctx->save_for_backward({f.xp, f.h0s, f.hs, saved, w_ih, w_hh});
    ctx->saved_data["n"] = p.n;
    ctx->saved_data["off"] = p.off;
    ctx->saved_data["order"] = p.order;
    ctx->saved_data["index"] = p.index;
    ctx->saved_data["prev"] = p.prev;
    ctx->saved_data["T"] = T;
    GruLayerOutput r = f.result(p, B, T);
    return {r.outputs, r.last};
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto s = ctx->get_saved_variables();
    const Tensor &xp = s[0], &h0s = s[1], &hs = s[2], &saved = s[3], &w_ih = s[4], &w_hh = s[5];
    Plan p;
    p.n = ctx->saved_data["n"].toIntVector();
    p.off = ctx->saved_data["off"].toIntVector();
    p.order = ctx->saved_data["order"].toTensor();
    p.index = ctx->saved_data["index"].toTensor();
    p.prev = ctx->saved_data["prev"].toTensor();
    const int64_t B = h0s.size(0), H = h0s.size(1), T = ctx->saved_data["T"].toInt(), I = xp.size(1);
    Tensor dy = grads[0].defined() ? grads[0].reshape({B * T, H}).index_select(0, p.index)
                                   : torch::zeros({p.rows(), H}, hs.options());
    Tensor dh = grads[1].defined() ? grads[1].index_select(0, p.order) : torch::zeros_like(h0s);
    Tensor hp = torch::cat({h0s, hs}).index_select(0, p.prev);  // [N, H]: each step's previous state
    Tensor dgi = torch::empty({p.rows(), 3 * H}, hs.options()), dgh = torch::empty_like(dgi);
    for (size_t t = p.n.size(); t-- > 0;) {
      const int64_t n = p.n[t], off = p.off[t];
      by_type(hs, [&](auto zero) {
        using E = decltype(zero);
        k_gate_grads<E>(dh.data_ptr<E>(), dy.data_ptr<E>() + off * H, saved.data_ptr<E>() + off * 4 * H,
                        hp.data_ptr<E>() + off * H, dgi.data_ptr<E>() + off * 3 * H,
                        dgh.data_ptr<E>() + off * 3 * H, n, H);
      });
      dh.narrow(0, 0, n).addmm_(dgh.narrow(0, off, n), w_hh);
    }
    Tensor dx, dh0, dw_ih, dw_hh, db_ih, db_hh;
    if (ctx->needs_input_grad(0)) {
      Tensor d = torch::zeros({B * T, I}, xp.options());
      dx = d.index_copy_(0, p.index, dgi.mm(w_ih)).view({B, T, I});
    }
    if (ctx->needs_input_grad(1)) dh0 = unsort(p, dh);
    if (ctx->needs_input_grad(2)) dw_ih = dgi.t().mm(xp);
    if (ctx->needs_input_grad(3)) dw_hh = dgh.t().mm(hp);
    if (ctx->needs_input_grad(4)) db_ih = dgi.sum(0);
    if (ctx->needs_input_grad(5)) db_hh = dgh.sum(0);
    return {dx, dh0, dw_ih, dw_hh, db_ih, db_hh, Tensor()};
  }
};

}  // namespace

GruLayerOutput gru_layer(const Tensor& x, const Tensor& lengths, const Tensor& h0, const Tensor& w_ih,
                         const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  if (!fused_kernels_for({&x, &h0, &w_ih, &w_hh})) return gru_layer_aten(x, lengths, h0, w_ih, w_hh, b_ih, b_hh);
  Plan p = make_plan(lengths, x.size(1));
  bool grad = torch::GradMode::is_enabled() &&
              (x.requires_grad() || h0.requires_grad() || w_ih.requires_grad() || w_hh.requires_grad() ||
               b_ih.requires_grad() || b_hh.requires_grad());
  if (grad) {
    auto r = GruLayerFunction::apply(x.contiguous(), h0.contiguous(), w_ih, w_hh, b_ih, b_hh, p);
    return {r[0], r[1]};
  }
  // Inference: the same steps, nothing kept for backward.
  return run_forward(p, x, h0, w_ih, w_hh, b_ih, b_hh, Tensor()).result(p, x.size(0), x.size(1));
}

Tensor gru_update(const Tensor& gi, const Tensor& gh, const Tensor& h) {
  const int64_t D = h.size(1);
  Tensor rz = torch::sigmoid(gi.narrow(1, 0, 2 * D) + gh.narrow(1, 0, 2 * D));
  Tensor r = rz.narrow(1, 0, D), z = rz.narrow(1, D, D);
  Tensor n = torch::tanh(gi.narrow(1, 2 * D, D) + r * gh.narrow(1, 2 * D, D));
  return n + z * (h - n);
}

Tensor gru_step(const Tensor& gi, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  Tensor gh = row_linear(h, w_hh, b_hh);
  if (torch::GradMode::is_enabled() || !fused_kernels_for({&gi, &h, &w_hh, &gh})) return gru_update(gi, gh, h);
  Tensor g = gi.contiguous(), hp = h.contiguous(), hn = torch::empty_like(hp);
  by_type(hp, [&](auto zero) {
    using E = decltype(zero);
    k_gates<E>(g.data_ptr<E>(), gh.data_ptr<E>(), hp.data_ptr<E>(), hn.data_ptr<E>(), nullptr, hp.size(0), hp.size(1));
  });
  return hn;
}

GruLayerOutput gru_layer_aten(const Tensor& x, const Tensor& lengths, const Tensor& h0, const Tensor& w_ih,
                              const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  // Padding comes after each row's tokens, so the states there are simply
  // not read: masked out, and the last state gathered at length - 1.
  const int64_t B = x.size(0), T = x.size(1);
  Tensor y = std::get<0>(torch::gru(x, h0.unsqueeze(0), {w_ih, w_hh, b_ih, b_hh}, true, 1, 0.0, false, false, true));
  Tensor len = lengths.to(x.device()).unsqueeze(1);                   // [B, 1]
  Tensor mask = torch::arange(T, len.options()).unsqueeze(0) < len;  // [B, T]
  Tensor at_end = (len - 1).clamp_min(0).unsqueeze(-1).expand({B, 1, y.size(2)});
  Tensor last = torch::where(len > 0, y.gather(1, at_end).squeeze(1), h0);
  return {y * mask.unsqueeze(-1).to(y.scalar_type()), last};
}

}  // namespace attn
