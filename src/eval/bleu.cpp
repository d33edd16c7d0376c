#include "eval/bleu.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "util/text_file.h"

namespace attn {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The character class of mteval-v13a's first rule: {-~ [-` space-& (-+ :-@ /
bool is_13a_punct(unsigned char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
         (c >= ':' && c <= '@') || c == '/';
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

using Ngrams = std::map<std::vector<std::string>, int>;

Ngrams count_ngrams(const std::vector<std::string>& toks, int max_order) {
  Ngrams m;
  for (int n = 1; n <= max_order; ++n)
    for (size_t i = 0; i + static_cast<size_t>(n) <= toks.size(); ++i)
      ++m[std::vector<std::string>(toks.begin() + static_cast<long>(i), toks.begin() + static_cast<long>(i) + n)];
  return m;
}

}  // namespace

// Each rule is a left-to-right, non-overlapping rewrite, as Python's re.sub does.
std::string tokenize_13a(const std::string& in) {
  std::string line = in;
  replace_all(line, "<skipped>", "");
  replace_all(line, "-\n", "");
  replace_all(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    replace_all(line, "&quot;", "\"");
    replace_all(line, "&amp;", "&");
    replace_all(line, "&lt;", "<");
    replace_all(line, "&gt;", ">");
  }
  line = " " + line + " ";
  std::string a;
  for (char c : line) {
    if (is_13a_punct(static_cast<unsigned char>(c))) {
      a += ' ';
      a += c;
      a += ' ';
    } else {
      a += c;
    }
  }
  auto rewrite = [](const std::string& s, auto match, auto emit) {
    std::string o;
    size_t i = 0;
    while (i < s.size()) {
      if (i + 1 < s.size() && match(s[i], s[i + 1])) {
        emit(o, s[i], s[i + 1]);
        i += 2;
      } else {
        o += s[i++];
      }
    }
    return o;
  };
  auto dot = [](char c) { return c == '.' || c == ','; };
  // ([^0-9])([\.,]) -> "\1 \2 "
  a = rewrite(a, [&](char x, char y) { return !is_digit(x) && dot(y); },
              [](std::string& o, char x, char y) { o += x, o += ' ', o += y, o += ' '; });
  // ([\.,])([^0-9]) -> " \1 \2"
  a = rewrite(a, [&](char x, char y) { return dot(x) && !is_digit(y); },
              [](std::string& o, char x, char y) { o += ' ', o += x, o += ' ', o += y; });
  // ([0-9])(-) -> "\1 \2 "
  a = rewrite(a, [](char x, char y) { return is_digit(x) && y == '-'; },
              [](std::string& o, char x, char y) { o += x, o += ' ', o += y, o += ' '; });
  return join(split_ws(a));
}

BleuResult compute_bleu(const std::vector<long>& correct, const std::vector<long>& total, long sys_len,
                        long ref_len) {
  size_t order = correct.size();
  BleuResult r;
  r.correct = correct;
  r.total = total;
  r.sys_len = sys_len;
  r.ref_len = ref_len;
  r.precisions.assign(order, 0.0);
  r.bp = 1.0;
  if (sys_len < ref_len) r.bp = sys_len > 0 ? std::exp(1.0 - static_cast<double>(ref_len) / sys_len) : 0.0;
  if (sys_len == 0) return r;
  double smooth = 1.0;
  for (size_t n = 0; n < order; ++n) {
    if (total[n] == 0) break;
    if (correct[n] == 0) {
      smooth *= 2;
      r.precisions[n] = 100.0 / (smooth * static_cast<double>(total[n]));
    } else {
      r.precisions[n] = 100.0 * static_cast<double>(correct[n]) / static_cast<double>(total[n]);
    }
  }
  double log_sum = 0;
  for (double p : r.precisions) log_sum += p > 0 ? std::log(p) : -9999999999.0;
  r.score = r.bp * std::exp(log_sum / static_cast<double>(order));
  return r;
}

BleuResult corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                       int max_order, bool tokenize) {
  for (const auto& r : refs)
    if (r.size() != hyps.size())
      throw std::invalid_argument("BLEU: " + std::to_string(hyps.size()) + " hypotheses but " +
                                  std::to_string(r.size()) + " references");
  std::vector<long> correct(max_order, 0), total(max_order, 0);
  long sys_len = 0, ref_len = 0;
  auto tok = [&](const std::string& s) { return split_ws(tokenize ? tokenize_13a(s) : s); };
  for (size_t i = 0; i < hyps.size(); ++i) {
    auto h = tok(hyps[i]);
    Ngrams hc = count_ngrams(h, max_order);
    Ngrams maxref;
    long closest = -1;
    for (const auto& stream : refs) {
      auto r = tok(stream[i]);
      long rl = static_cast<long>(r.size()), hl = static_cast<long>(h.size());
      // closest reference length; ties go to the shorter one
      if (closest < 0 || std::abs(rl - hl) < std::abs(closest - hl) ||
          (std::abs(rl - hl) == std::abs(closest - hl) && rl < closest))
        closest = rl;
      for (const auto& [g, c] : count_ngrams(r, max_order)) maxref[g] = std::max(maxref[g], c);
    }
    sys_len += static_cast<long>(h.size());
    ref_len += std::max(closest, 0L);
    for (const auto& [g, c] : hc) {
      auto it = maxref.find(g);
      if (it != maxref.end()) correct[g.size() - 1] += std::min(c, it->second);
    }
    for (int n = 1; n <= max_order; ++n) total[n - 1] += std::max(0L, static_cast<long>(h.size()) - n + 1);
  }
  return compute_bleu(correct, total, sys_len, ref_len);
}

std::string BleuResult::format() const {
  char buf[512];
  std::string prec;
  for (size_t i = 0; i < precisions.size(); ++i) {
    char p[32];
    std::snprintf(p, sizeof p, "%s%.1f", i ? "/" : "", precisions[i]);
    prec += p;
  }
  double ratio = ref_len > 0 ? static_cast<double>(sys_len) / static_cast<double>(ref_len) : 0.0;
  std::snprintf(buf, sizeof buf, "BLEU = %.2f %s (BP = %.3f ratio = %.3f hyp_len = %ld ref_len = %ld)", score,
                prec.c_str(), bp, ratio, sys_len, ref_len);
  return buf;
}

std::string bleu_signature(int nrefs) {
  return "nrefs:" + std::to_string(nrefs) + "|case:mixed|eff:no|tok:13a|smooth:exp|version:attn-" ATTN_VERSION;
}

}  // namespace attn
