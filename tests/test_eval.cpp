#include <gtest/gtest.h>

#include <cmath>

#include "eval/alignment.h"
#include "eval/entropy.h"
#include "eval/evaluator.h"
#include "eval/model_eval.h"
#include "model/seq2seq.h"
#include "test_util.h"
#include "util/errors.h"

using namespace attn;
using attn::test::TempDir;
using attn::test::write_text;

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

TEST(Alignment, ForcedMetricsReadTheReferencesRows) {
  // Reference of 3 words, source of 3 words, reversed: gold 0-2 1-1 2-0 (source-target).
  // Rows: the 3 words and EOS; columns: the 3 source words and EOS.
  auto w = torch::tensor(std::vector<float>{0.1f, 0.1f, 0.7f, 0.1f,    // word 0 -> source 2
                                            0.1f, 0.8f, 0.05f, 0.05f,  // word 1 -> source 1
                                            0.9f, 0.0f, 0.05f, 0.05f,  // word 2 -> source 0
                                            0.1f, 0.1f, 0.1f, 0.7f})   // EOS -> source EOS
               .view({4, 4});
  std::vector<GoldAlignment> gold = {parse_pharaoh("0-2 1-1 2-0")};
  auto m = forced_alignment_metrics({w}, gold, 0);
  EXPECT_DOUBLE_EQ(m["aer"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(m["alignment_accuracy"].get<double>(), 1.0);
  // Row t+1: word 0 reads word 1's row (1-0, wrong), word 1 reads word 2's (0-1, wrong), word 2 the EOS
  // row, which points at the source EOS (no link): |A| = 2, |S| = 3, nothing right: AER 1.
  EXPECT_DOUBLE_EQ(m["aer_by_shift"]["1"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(m["alignment_accuracy_by_shift"]["1"].get<double>(), 0.0);
  EXPECT_EQ(forced_alignment_metrics({w}, gold, 1)["aer"], m["aer_by_shift"]["1"]);
  // A possible link counts as right; a word without gold links is not counted: word 0 (2?0) right,
  // word 1 (gold 0-1, argmax source 1) wrong, word 2 no gold: 1 of 2.
  auto p = forced_alignment_metrics({w}, {parse_pharaoh("2?0 0-1")}, 0);
  EXPECT_DOUBLE_EQ(p["alignment_accuracy"].get<double>(), 0.5);
  // AER: A = {2-0, 1-1, 0-2}, S = {0-1}, P = {2-0, 0-1}: 1 - (0 + 1) / (3 + 1).
  EXPECT_DOUBLE_EQ(p["aer"].get<double>(), 0.75);
  EXPECT_THROW(forced_alignment_metrics({w}, {}, 0), std::invalid_argument);
}

TEST(Alignment, TheOldReadingOfTheOutputsAttentionMisplacesGoldAfterAWrongWord) {
  // The model emitted "x z" for the reference "x y z" and looked at the right source word for each word
  // it emitted. Gold links of the reference against the output's rows: z's link lands on y's row.
  auto out_rows = torch::tensor(std::vector<float>{0.1f, 0.1f, 0.8f, 0.0f,  // x -> source 2
                                                   0.8f, 0.1f, 0.1f, 0.0f})  // z -> source 0
                      .view({2, 4});
  GoldAlignment gold = parse_pharaoh("2-0 1-1 0-2");
  AerCounts old;
  old.add(hard_alignment(out_rows, 3, 0), gold);
  EXPECT_NEAR(old.aer(), 1.0 - 2.0 / 5, 1e-12);  // 0.6, though every look was right
}

TEST(ModelEval, AerComesFromForcedDecodingOfTheReference) {
  torch::manual_seed(3);
  TextModel text;
  text.src_tok = std::make_shared<WhitespaceTokenizer>();
  text.tgt_tok = std::make_shared<WhitespaceTokenizer>();
  text.src_vocab = Vocab::from_tokens({"a", "b", "c", "d", "e", "f"});
  text.tgt_vocab = text.src_vocab;
  std::vector<TextPair> pairs = {{"a b c d", "d c b a", 1}, {"e f a", "a f e", 2}, {"b c", "c b", 3}};
  Corpus c = encode_corpus(pairs, *text.src_tok, *text.tgt_tok, text.src_vocab, text.tgt_vocab);
  std::vector<GoldAlignment> gold = {parse_pharaoh("0-3 1-2 2-1 3-0"), parse_pharaoh("0-2 1-1 2-0"),
                                     parse_pharaoh("0-1 1-0")};
  ModelConfig mc;
  mc.emb = 8, mc.hidden = 8, mc.dec_hidden = 8, mc.dropout = 0;
  Seq2Seq model(mc, text.src_vocab.size(), text.tgt_vocab.size());
  EvalReport rep = evaluate_model(*model, text, c, &gold, EvalOptions{});
  ForcedScores fs = score_corpus(*model, c.examples, 64, torch::kCPU, true);
  ASSERT_EQ(fs.attention.size(), 3u);
  EXPECT_EQ(fs.attention[0].sizes(), (std::vector<int64_t>{5, 5}));  // 4 words + EOS, 4 source words + EOS
  auto forced = forced_alignment_metrics(fs.attention, gold, 0);
  EXPECT_DOUBLE_EQ(rep.metrics["aer"].get<double>(), forced["aer"].get<double>());
  EXPECT_EQ(rep.metrics["aer_by_shift"], forced["aer_by_shift"]);
  EXPECT_EQ(rep.metrics["alignment_accuracy_by_shift"], forced["alignment_accuracy_by_shift"]);
  // The reading evaluate used before (the untrained model's own outputs, which differ from the
  // references) gives another number: this test tells the two apart.
  AerCounts old;
  for (size_t i = 0; i < rep.records.size(); ++i)
    old.add(hard_alignment(rep.records[i].weights, static_cast<int>(c.examples[i].src.size()), 0), gold[i]);
  ASSERT_NE(old.aer(), forced["aer"].get<double>());
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

// A gold link outside its sentence (either side) is refused with FILE:LINE and
// the link, for the test set (by index) and for a corpus's examples (by line).
TEST(ModelEval, GoldLinksOutsideTheSentenceAreRefused) {
  TempDir d;
  std::vector<Example> ex = {{{1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}, 1}, {{1, 2}, {1, 2, 3}, 2}};
  auto refusal = [&](const std::string& second_line, bool by_line) {
    write_text(d.path("g.align"), "0-0 4-4\n" + second_line + "\n");
    try {
      if (by_line)
        gold_for_examples(d.path("g.align"), ex);
      else
        read_gold_alignments(d.path("g.align"), ex);
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  write_text(d.path("ok.align"), "0-0 4-4\n1-2 0?0\n");
  EXPECT_EQ(read_gold_alignments(d.path("ok.align"), ex)[1].possible.size(), 2u);
  EXPECT_EQ(gold_for_examples(d.path("ok.align"), ex)[0].sure.size(), 2u);
  for (bool by_line : {false, true}) {
    std::string target = refusal("0-40", by_line);
    EXPECT_NE(target.find("g.align:2: link 0-40"), std::string::npos) << target;
    EXPECT_NE(target.find("target has 3 tokens"), std::string::npos) << target;
    std::string source = refusal("2?0", by_line);
    EXPECT_NE(source.find("g.align:2: link 2?0"), std::string::npos) << source;
    EXPECT_NE(source.find("source has 2 tokens"), std::string::npos) << source;
    EXPECT_NE(refusal("1-3", by_line), "");  // j == target length: one past the end
  }
}
