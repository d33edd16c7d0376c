#include "data/toy.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "util/text_file.h"

namespace attn {

namespace {

// splitmix64: tiny, portable, well-mixed.
class Rng {
 public:
  // The seed is mixed first: seeds s and s+1 must not give shifted copies
  // of one stream (splitmix's state simply advances by a constant).
  explicit Rng(uint64_t seed) : s_(mix(seed ^ 0x6A09E667F3BCC909ULL)) {}
  uint64_t next() { return mix(s_ += 0x9E3779B97F4A7C15ULL); }
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  int uniform(int lo, int hi) {  // inclusive
    uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int>(next() % span);
  }

 private:
  uint64_t s_;
};

ToyExample permutation_task(const std::string& task, Rng& rng, int len, int vocab) {
  ToyExample ex;
  for (int i = 0; i < len; ++i) ex.src.push_back(toy_symbol(rng.uniform(0, vocab - 1)));
  std::vector<int> order(len);
  std::iota(order.begin(), order.end(), 0);
  if (task == "reverse") std::reverse(order.begin(), order.end());
  if (task == "sort")
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return ex.src[a].size() != ex.src[b].size() ? ex.src[a].size() < ex.src[b].size() : ex.src[a] < ex.src[b];
    });
  for (int j = 0; j < len; ++j) {
    ex.tgt.push_back(ex.src[order[j]]);
    ex.align.emplace_back(order[j], j);
  }
  return ex;
}

// A tiny language pair whose alignments are not the identity:
//   "jA nB"  -> "the NB JA"   adjective after noun (reordering)
//   "nB"     -> "the NB"      the source has no article: "the" gets only
//                             possible links, to every word of its noun
//                             phrase (as annotators mark a word without a
//                             counterpart), no sure one
//   "vC"     -> "VC"          one-to-one
//   "cD"     -> "CDx CDy"     one-to-many (compounds split)
//   "pE qE"  -> "PQE"         many-to-one (idioms merge)
//   "de"     ->               unaligned source function word
ToyExample translate_task(Rng& rng, int len, int vocab) {
  ToyExample ex;
  int k = std::max(2, vocab / 5);  // words per class
  int tgt = 0;
  auto add = [&](std::vector<std::string> s, std::vector<std::string> t, std::vector<std::pair<int, int>> a,
                 std::vector<std::pair<int, int>> maybe = {}) {
    int s0 = static_cast<int>(ex.src.size());
    for (auto& x : s) ex.src.push_back(x);
    for (auto& x : t) ex.tgt.push_back(x);
    for (auto [i, j] : a) ex.align.emplace_back(s0 + i, tgt + j);
    for (auto [i, j] : maybe) ex.possible.emplace_back(s0 + i, tgt + j);
    tgt += static_cast<int>(t.size());
  };
  while (static_cast<int>(ex.src.size()) < len) {
    int left = len - static_cast<int>(ex.src.size());
    int kind = rng.uniform(0, left >= 2 ? 5 : 3);
    int w = rng.uniform(0, k - 1);
    std::string n = std::to_string(w);
    switch (kind) {
      case 0: add({"n" + n}, {"the", "N" + n}, {{0, 1}}, {{0, 0}}); break;
      case 1: add({"v" + n}, {"V" + n}, {{0, 0}}); break;
      case 2: add({"c" + n}, {"C" + n + "x", "C" + n + "y"}, {{0, 0}, {0, 1}}); break;
      case 3: add({"de"}, {}, {}); break;
      case 4: {
        std::string a = std::to_string(rng.uniform(0, k - 1));
        add({"j" + a, "n" + n}, {"the", "N" + n, "J" + a}, {{1, 1}, {0, 2}}, {{0, 0}, {1, 0}});
        break;
      }
      default: add({"p" + n, "q" + n}, {"PQ" + n}, {{0, 0}, {1, 0}}); break;
    }
  }
  if (ex.tgt.empty()) add({}, {"V0"}, {});  // a lone "de": give the target a word
  return ex;
}

}  // namespace

std::string toy_symbol(int i) {
  std::string s(1, static_cast<char>('a' + i % 26));
  if (i >= 26) s += std::to_string(i / 26);
  return s;
}

std::vector<ToyExample> make_toy(const ToySpec& spec, const std::unordered_set<std::string>* exclude) {
  static const std::vector<std::string> tasks = {"copy", "reverse", "sort", "toy-translate"};
  if (std::find(tasks.begin(), tasks.end(), spec.task) == tasks.end())
    throw std::invalid_argument("unknown toy task \"" + spec.task + "\" (copy, reverse, sort, toy-translate)");
  if (spec.min_len < 1 || spec.min_len > spec.max_len)
    throw std::invalid_argument("toy lengths: need 1 <= min_len <= max_len");
  if (spec.vocab < 2) throw std::invalid_argument("toy vocabulary: need at least 2 symbols");
  Rng rng(spec.seed);
  std::vector<ToyExample> out;
  out.reserve(static_cast<size_t>(spec.n));
  long tries = 0, max_tries = 100L * spec.n + 10000;
  while (static_cast<int>(out.size()) < spec.n) {
    if (++tries > max_tries)
      throw std::runtime_error("toy generator: cannot draw " + std::to_string(spec.n) +
                               " sources not in the excluded set; widen lengths or vocabulary");
    int len = rng.uniform(spec.min_len, spec.max_len);
    ToyExample ex = spec.task == "toy-translate" ? translate_task(rng, len, spec.vocab)
                                                 : permutation_task(spec.task, rng, len, spec.vocab);
    if (exclude && exclude->count(join(ex.src))) continue;
    out.push_back(std::move(ex));
  }
  return out;
}

void write_toy(const std::vector<ToyExample>& ex, const std::string& prefix) {
  std::string src, tgt, align;
  for (const auto& e : ex) {
    src += join(e.src) + "\n";
    tgt += join(e.tgt) + "\n";
    std::string a;
    for (auto [i, j] : e.align) a += (a.empty() ? "" : " ") + std::to_string(i) + "-" + std::to_string(j);
    for (auto [i, j] : e.possible) a += (a.empty() ? "" : " ") + std::to_string(i) + "?" + std::to_string(j);
    align += a + "\n";
  }
  write_file_atomic(prefix + ".src", src);
  write_file_atomic(prefix + ".tgt", tgt);
  write_file_atomic(prefix + ".align", align);
}

}  // namespace attn
