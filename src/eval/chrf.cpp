#include "eval/chrf.h"

#include <map>
#include <stdexcept>

namespace attn {

namespace {

// UTF-8 to code points, whitespace dropped: sacreBLEU counts characters, not bytes.
std::u32string chars_without_space(const std::string& s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    char32_t cp;
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += len;
    bool space = cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' || cp == 0x85 ||
                 cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
                 cp == 0x202F || cp == 0x205F || cp == 0x3000;
    if (!space) out.push_back(cp);
  }
  return out;
}

}  // namespace

double corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::string>& refs, int order,
                   double beta) {
  if (hyps.size() != refs.size())
    throw std::invalid_argument("chrF: " + std::to_string(hyps.size()) + " hypotheses but " +
                                std::to_string(refs.size()) + " references");
  std::vector<double> n_hyp(order, 0), n_ref(order, 0), n_match(order, 0);
  for (size_t i = 0; i < hyps.size(); ++i) {
    std::u32string h = chars_without_space(hyps[i]), r = chars_without_space(refs[i]);
    for (int n = 1; n <= order; ++n) {
      std::map<std::u32string, int> hc, rc;
      for (size_t k = 0; k + n <= h.size(); ++k) ++hc[h.substr(k, n)];
      for (size_t k = 0; k + n <= r.size(); ++k) ++rc[r.substr(k, n)];
      for (const auto& [g, c] : hc) {
        n_hyp[n - 1] += c;
        auto it = rc.find(g);
        if (it != rc.end()) n_match[n - 1] += std::min(c, it->second);
      }
      for (const auto& [g, c] : rc) n_ref[n - 1] += c;
    }
  }
  double prec = 0, rec = 0;
  int effective = 0;
  for (int n = 0; n < order; ++n) {
    if (n_hyp[n] > 0 && n_ref[n] > 0) {
      prec += n_match[n] / n_hyp[n];
      rec += n_match[n] / n_ref[n];
      ++effective;
    }
  }
  if (effective == 0) return 0.0;
  prec /= effective;
  rec /= effective;
  if (prec + rec == 0) return 0.0;
  double f = beta * beta;
  return 100.0 * (1 + f) * prec * rec / (f * prec + rec);
}

}  // namespace attn
