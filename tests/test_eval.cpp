#include <gtest/gtest.h>

#include <cmath>

#include "eval/alignment.h"
#include "eval/entropy.h"
#include "eval/evaluator.h"

using namespace attn;

TEST(Alignment, ParsesPharaohSureAndPossible) {
  auto g = parse_pharaoh("0-0 1?2  3-1");
  EXPECT_EQ(g.sure.size(), 2u);
  EXPECT_EQ(g.possible.size(), 3u);
  EXPECT_TRUE(g.possible.count({1, 2}));
  EXPECT_THROW(parse_pharaoh("0-0 x-1"), std::invalid_argument);
  EXPECT_THROW(parse_pharaoh("1-"), std::invalid_argument);
  EXPECT_TRUE(parse_pharaoh("").possible.empty());
}

TEST(Alignment, AerOnHandMadeExample) {
  // S = {0-0, 1-1}, P = S + {2-1}; A = {0-0, 2-1, 2-2}
  // |A n S| = 1, |A n P| = 2 -> AER = 1 - 3/5 = 0.4
  AerCounts c;
  c.add({{0, 0}, {2, 1}, {2, 2}}, parse_pharaoh("0-0 1-1 2?1"));
  EXPECT_NEAR(c.aer(), 0.4, 1e-12);
  AerCounts perfect;
  perfect.add({{0, 0}, {1, 1}}, parse_pharaoh("0-0 1-1 2?1"));
  EXPECT_NEAR(perfect.aer(), 0.0, 1e-12);
}

TEST(Alignment, HardAlignmentSkipsEosAndShifts) {
  auto w = torch::tensor({0.1f, 0.8f, 0.1f, 0.7f, 0.2f, 0.1f, 0.0f, 0.1f, 0.9f}).view({3, 3});
  EXPECT_EQ(hard_alignment(w, 2), (AlignPairs{{1, 0}, {0, 1}}));  // row 2 points at EOS (column 2)
  EXPECT_EQ(hard_alignment(w, 2, 1), (AlignPairs{{0, 0}}));
  EXPECT_EQ(to_pharaoh({{1, 0}, {0, 1}}), "1-0 0-1");
}

TEST(Entropy, StatisticsAndBands) {
  EntropyStats s;
  // rows: one-hot (H 0), uniform over 4 (H ln 4 = 1.386), uniform over 2 of 4 (ln 2)
  auto w = torch::tensor(std::vector<float>{1, 0, 0, 0, .25f, .25f, .25f, .25f, .5f, .5f, 0, 0}).view({3, 4});
  s.add(w, 3);
  EXPECT_EQ(s.rows(), 3);
  EXPECT_NEAR(s.mean(), (std::log(4.0) + std::log(2.0)) / 3, 1e-6);
  EXPECT_NEAR(s.mean_normalised(), (1.0 + 0.5) / 3, 1e-6);
  auto j = s.to_json();
  EXPECT_EQ(j["bands"][0]["count"], 1);  // < 0.5
  EXPECT_EQ(j["bands"][1]["count"], 2);  // 0.5 - 1.5
  EXPECT_EQ(j["by_source_length"][0]["src_len"], "1-10");
  EXPECT_NEAR(j["nats"]["median"].get<double>(), std::log(2.0), 1e-6);
}

TEST(Entropy, LengthBuckets) {
  EXPECT_EQ(length_bucket(1), "1-10");
  EXPECT_EQ(length_bucket(10), "1-10");
  EXPECT_EQ(length_bucket(11), "11-20");
  EXPECT_EQ(length_bucket(50), "41-50");
}

TEST(TranslationMetrics, ExactMatchTokenAccuracyAndBuckets) {
  auto j = translation_metrics({"a b c", "a b", "x"}, {"a b c", "a c", "x"}, {3, 12, 12});
  EXPECT_NEAR(j["exact_match"].get<double>(), 2.0 / 3, 1e-12);
  EXPECT_NEAR(j["token_accuracy"].get<double>(), 5.0 / 6, 1e-12);
  ASSERT_EQ(j["by_source_length"].size(), 2u);
  EXPECT_EQ(j["by_source_length"][1]["src_len"], "11-20");
  EXPECT_NEAR(j["by_source_length"][0]["exact_match"].get<double>(), 1.0, 1e-12);
}
