// BLEU and chrF against values from sacreBLEU's own test suite
// (test/test_bleu.py, test/test_chrf.py); the implementation is ours.
#include <gtest/gtest.h>

#include "eval/bleu.h"
#include "eval/chrf.h"

using namespace attn;

namespace {
const std::vector<std::string> kHyps = {"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."};
const std::vector<std::vector<std::string>> kRefs = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}};
}  // namespace

TEST(Bleu, SacrebleuReadmeExample) {
  EXPECT_NEAR(corpus_bleu(kHyps, kRefs).score, 48.530827, 1e-6);
}

TEST(Bleu, SacrebleuNoTokenisation) {
  EXPECT_NEAR(corpus_bleu(kHyps, kRefs, 4, /*tokenize=*/false).score, 49.1919566, 1e-6);
}

TEST(Bleu, SacrebleuMaxOrders) {
  const double want[] = {77.65, 60.50, 53.93, 48.53, 46.14, 43.28};
  for (int order = 1; order <= 6; ++order)
    EXPECT_NEAR(corpus_bleu(kHyps, kRefs, order).score, want[order - 1], 0.005) << "order " << order;
}

TEST(Bleu, SacrebleuEmptyHypotheses) {
  EXPECT_EQ(corpus_bleu({"", "", ""}, kRefs).score, 0.0);
}

TEST(Bleu, SacrebleuStatistics) {
  auto r = corpus_bleu({"am I am a character sequence"}, {{"I am a symbol string sequence a a"}});
  EXPECT_EQ(r.correct, (std::vector<long>{4, 2, 1, 0}));
  EXPECT_EQ(r.total, (std::vector<long>{6, 5, 4, 3}));
}

TEST(Bleu, SacrebleuScoringFromStatistics) {
  EXPECT_NEAR(compute_bleu({9, 7, 5, 3}, {10, 8, 6, 4}, 11, 11).score, 83.75922397, 1e-6);
}

TEST(Bleu, FormatsLikeSacrebleu) {
  auto r = corpus_bleu(kHyps, kRefs);
  EXPECT_EQ(r.format().substr(0, 12), "BLEU = 48.53");
  EXPECT_NE(r.format().find("(BP = "), std::string::npos);
  EXPECT_NE(r.format().find("hyp_len = "), std::string::npos);
}

TEST(Bleu, Tokenizer13a) {
  EXPECT_EQ(tokenize_13a("It wasn't surprising."), "It wasn't surprising .");  // 13a keeps apostrophes
  EXPECT_EQ(tokenize_13a("3.5 and 1,000 - but 5-6, ok."), "3.5 and 1,000 - but 5 - 6 , ok .");
  EXPECT_EQ(tokenize_13a("a &amp; b &quot;c&quot;"), "a & b \" c \"");
  EXPECT_EQ(tokenize_13a("(x)[y]{z}"), "( x ) [ y ] { z }");
}

TEST(Chrf, SacrebleuEffectiveOrderCases) {
  // sacreBLEU 2.x defaults (eps_smoothing = false), its tests use beta = 3.
  struct Case {
    std::vector<std::string> h, r;
    double want;
  };
  std::vector<Case> cases = {{{"a"}, {"a"}, 100.0},        {{""}, {"reference"}, 0.0}, {{"a b c"}, {"a b c"}, 100.0},
                             {{"a b c"}, {"abc"}, 100.0}, {{""}, {"c"}, 0.0},         {{"a", "b"}, {"a", "c"}, 50.0},
                             {{"aa"}, {"ab"}, 25.0}};
  for (const auto& c : cases) EXPECT_NEAR(corpus_chrf(c.h, c.r, 6, 3.0), c.want, 1e-4) << c.h[0] << " / " << c.r[0];
}

TEST(Chrf, HandComputedChrf2) {
  // "abc" vs "abd": 1-grams 2/3, 2-grams 1/2, 3-grams 0/1 (P = R for each).
  double p = (2.0 / 3 + 0.5 + 0.0) / 3;
  EXPECT_NEAR(corpus_chrf({"abc"}, {"abd"}), 100 * p, 1e-9);
  // Characters, not bytes: "é" is one character.
  EXPECT_NEAR(corpus_chrf({"é"}, {"é"}), 100.0, 1e-9);
}
