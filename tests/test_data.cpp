// Text files, parallel corpora, toy generators, vocabularies, batching.
#include <gtest/gtest.h>
#include <zlib.h>

#include <numeric>
#include <set>

#include "data/batch.h"
#include "data/corpus.h"
#include "data/toy.h"
#include "data/vocab.h"
#include "eval/alignment.h"
#include "test_util.h"
#include "util/errors.h"
#include "util/text_file.h"

using namespace attn;
using attn::test::TempDir;
using attn::test::write_text;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

void write_gz(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
  gzclose(f);
}

}  // namespace

TEST(TextFile, ReadsPlainAndGzipAlike) {
  TempDir d;
  write_text(d.path("a.txt"), "one\r\ntwo\nthree");
  write_gz(d.path("a.txt.gz"), "one\r\ntwo\nthree");
  std::vector<std::string> want = {"one", "two", "three"};
  EXPECT_EQ(read_lines(d.path("a.txt")), want);
  EXPECT_EQ(read_lines(d.path("a.txt.gz")), want);
}

TEST(TextFile, AByteOrderMarkIsDropped) {
  TempDir d;
  write_text(d.path("bom.txt"), "\xEF\xBB\xBF" "a b\nc\n");
  EXPECT_EQ(read_lines(d.path("bom.txt")), (std::vector<std::string>{"a b", "c"}));
  std::string only_later = "x\n\xEF\xBB\xBF" "y\n";  // only at the start of the text
  write_text(d.path("later.txt"), only_later);
  EXPECT_EQ(read_lines(d.path("later.txt"))[1], "\xEF\xBB\xBF" "y");
}

TEST(TextFile, BadInputNamesFileAndLine) {
  TempDir d;
  EXPECT_NE(error_of([&] { read_lines(d.path("nope.txt")); }).find("nope.txt: no such file"), std::string::npos);
  write_text(d.path("bad.txt"), "fine\nalso fine\nbro\xC3\x28ken\n");
  EXPECT_NE(error_of([&] { read_lines(d.path("bad.txt")); }).find("bad.txt:3: invalid UTF-8 at byte 4"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_lines(d.path("")); }).find("is a directory"), std::string::npos);
}

TEST(TextFile, Utf8Validation) {
  EXPECT_EQ(find_invalid_utf8("plain ascii"), std::string::npos);
  EXPECT_EQ(find_invalid_utf8("Gr\xC3\xBC\xC3\x9F" "e \xE2\x82\xAC \xF0\x9F\x98\x80"), std::string::npos);
  EXPECT_EQ(find_invalid_utf8("\xC0\xAF"), 0u);          // overlong
  EXPECT_EQ(find_invalid_utf8("ab\xED\xA0\x80"), 2u);    // surrogate
  EXPECT_EQ(find_invalid_utf8("abc\xE2\x82"), 3u);       // truncated
  EXPECT_EQ(find_invalid_utf8("\xFF"), 0u);
}

TEST(TextFile, AtomicWriteLeavesNoTemp) {
  TempDir d;
  write_file_atomic(d.path("sub/out.txt"), "hello\n");
  EXPECT_EQ(read_file(d.path("sub/out.txt")), "hello\n");
  EXPECT_FALSE(std::filesystem::exists(d.path("sub/out.txt.tmp")));
}

TEST(Corpus, LineCountMismatchGivesBothCounts) {
  TempDir d;
  write_text(d.path("s"), "a\nb\nc\n");
  write_text(d.path("t"), "a\nb\n");
  std::string e = error_of([&] { read_parallel(d.path("s"), d.path("t"), true); });
  EXPECT_NE(e.find("has 3 lines but"), std::string::npos) << e;
  EXPECT_NE(e.find("has 2;"), std::string::npos) << e;
}

TEST(Corpus, EmptyLinesSkippedOrRefused) {
  TempDir d;
  write_text(d.path("s"), "a b\n\nc\n d \n");
  write_text(d.path("t"), "x\ny\n  \nz\n");
  ReadStats st;
  auto pairs = read_parallel(d.path("s"), d.path("t"), true, &st);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(st.empty, 2);
  EXPECT_EQ(pairs[1].line, 4);
  std::string e = error_of([&] { read_parallel(d.path("s"), d.path("t"), false); });
  EXPECT_NE(e.find("s:2: empty line"), std::string::npos) << e;
}

TEST(Corpus, LengthFilterCountsDrops) {
  std::vector<TextPair> pairs = {{"a b", "x", 1}, {"a b c d", "x", 2}, {"a", "x y z", 3}};
  WhitespaceTokenizer tok;
  Vocab v = Vocab::from_tokens({"a", "b", "x"});
  ReadStats st;
  Corpus c = encode_corpus(pairs, tok, tok, v, v, 3, 2, &st);
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(st.too_long, 2);
  EXPECT_EQ(st.src_too_long, 1);
  EXPECT_EQ(st.tgt_too_long, 1);
  EXPECT_EQ(c.examples[0].src, (std::vector<int>{v.id("a"), v.id("b")}));
  EXPECT_EQ(c.src_text[0], "a b");
}

TEST(Vocab, SpecialsFrequencyOrderAndDecode) {
  Vocab v = Vocab::build({{"b", "a", "b"}, {"c", "b", "a"}}, 2, 0);
  EXPECT_EQ(v.tokens(), (std::vector<std::string>{"<pad>", "<unk>", "<s>", "</s>", "b", "a"}));
  EXPECT_EQ(v.id("c"), Vocab::kUnk);
  EXPECT_EQ(v.decode({4, 5, Vocab::kEos, 4}), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(Vocab::build({{"b", "a", "b"}}, 1, 5).size(), 5);
  EXPECT_EQ(Vocab::from_json(v.to_json()), v);
  EXPECT_THROW(Vocab::from_json(nlohmann::json::array({"x", "y"})), DataError);
}

TEST(Toy, CopyReverseSortAreCorrectWithAlignments) {
  for (const std::string task : {"copy", "reverse", "sort"}) {
    auto ex = make_toy({task, 200, 3, 12, 15, 9});
    ASSERT_EQ(ex.size(), 200u);
    for (const auto& e : ex) {
      ASSERT_GE(e.src.size(), 3u);
      ASSERT_LE(e.src.size(), 12u);
      ASSERT_EQ(e.tgt.size(), e.src.size());
      auto want = e.src;
      if (task == "reverse") std::reverse(want.begin(), want.end());
      if (task == "sort")
        std::sort(want.begin(), want.end(), [](const std::string& a, const std::string& b) {
          return a.size() != b.size() ? a.size() < b.size() : a < b;
        });
      EXPECT_EQ(e.tgt, want) << task;
      ASSERT_EQ(e.align.size(), e.src.size());
      std::set<int> srcs;
      for (auto [i, j] : e.align) {
        EXPECT_EQ(e.src[i], e.tgt[j]);  // each link joins equal symbols
        srcs.insert(i);
      }
      EXPECT_EQ(srcs.size(), e.src.size());  // a permutation
    }
  }
}

TEST(Toy, TranslateHasReorderingOneToManyManyToOneAndUnaligned) {
  auto ex = make_toy({"toy-translate", 300, 4, 12, 20, 3});
  bool reorder = false, one_many = false, many_one = false, unaligned_src = false, unaligned_tgt = false;
  for (const auto& e : ex) {
    std::vector<int> src_links(e.src.size()), tgt_links(e.tgt.size());
    for (auto [i, j] : e.align)
      for (auto [k, l] : e.align) reorder |= i < k && j > l;  // crossing links
    for (auto [i, j] : e.align) {
      ASSERT_GE(i, 0);
      ASSERT_LT(i, static_cast<int>(e.src.size()));
      ASSERT_GE(j, 0);
      ASSERT_LT(j, static_cast<int>(e.tgt.size()));
      ++src_links[i];
      ++tgt_links[j];
    }
    for (int c : src_links) one_many |= c > 1, unaligned_src |= c == 0;
    for (int c : tgt_links) many_one |= c > 1, unaligned_tgt |= c == 0;
  }
  EXPECT_TRUE(reorder);
  EXPECT_TRUE(one_many);
  EXPECT_TRUE(many_one);
  EXPECT_TRUE(unaligned_src);
  EXPECT_TRUE(unaligned_tgt);
}

TEST(Toy, TranslateArticlesHaveOnlyPossibleLinksToTheirNounPhrase) {
  TempDir d;
  auto ex = make_toy({"toy-translate", 200, 4, 12, 20, 5});
  int articles = 0;
  for (const auto& e : ex)
    for (size_t j = 0; j < e.tgt.size(); ++j) {
      if (e.tgt[j] != "the") continue;
      ++articles;
      for (auto [i, t] : e.align) EXPECT_NE(t, static_cast<int>(j)) << "a sure link for \"the\"";
      // The noun it comes with (the next target word), and the adjective before that noun if any.
      std::set<std::string> linked;
      for (auto [i, t] : e.possible)
        if (t == static_cast<int>(j)) linked.insert(e.src[static_cast<size_t>(i)]);
      std::string noun = "n" + e.tgt[j + 1].substr(1);
      ASSERT_TRUE(linked.count(noun)) << noun;
      bool adjective = j + 2 < e.tgt.size() && e.tgt[j + 2][0] == 'J';
      EXPECT_EQ(linked.size(), adjective ? 2u : 1u);
      if (adjective) EXPECT_TRUE(linked.count("j" + e.tgt[j + 2].substr(1)));
    }
  EXPECT_GT(articles, 50);
  // Written as "i?j", read back as possible but not sure.
  write_toy(ex, d.path("t"));
  auto lines = read_lines(d.path("t.align"));
  ASSERT_EQ(lines.size(), ex.size());
  for (size_t k = 0; k < ex.size(); ++k) {
    GoldAlignment g = parse_pharaoh(lines[k]);
    EXPECT_EQ(g.sure.size(), ex[k].align.size());
    EXPECT_EQ(g.possible.size(), ex[k].align.size() + ex[k].possible.size());
  }
}

TEST(Toy, SameSeedSameBytesAndDisjointTestSets) {
  TempDir d;
  write_toy(make_toy({"reverse", 50, 3, 9, 10, 4}), d.path("a"));
  write_toy(make_toy({"reverse", 50, 3, 9, 10, 4}), d.path("b"));
  for (const char* ext : {".src", ".tgt", ".align"})
    EXPECT_EQ(read_file(d.path(std::string("a") + ext)), read_file(d.path(std::string("b") + ext)));
  EXPECT_NE(read_file(d.path("a.src")), join({}));
  auto train = make_toy({"copy", 500, 2, 4, 4, 1});
  std::unordered_set<std::string> seen;
  for (const auto& e : train) seen.insert(join(e.src));
  auto test = make_toy({"copy", 50, 2, 4, 4, 2}, &seen);
  for (const auto& e : test) EXPECT_FALSE(seen.count(join(e.src)));
  auto longer = make_toy({"copy", 20, 30, 40, 4, 3});
  for (const auto& e : longer) EXPECT_GE(e.src.size(), 30u);
  std::unordered_set<std::string> both = {"a", "b"};
  EXPECT_THROW(make_toy({"copy", 10, 1, 1, 2, 1}, &both), std::runtime_error);  // no source left to draw
}

namespace {
std::vector<Example> ragged(int n) {
  std::vector<Example> ex;
  for (int i = 0; i < n; ++i) ex.push_back({std::vector<int>(1 + (i * 7) % 23, 4), std::vector<int>(1 + (i * 5) % 19, 5), i});
  return ex;
}
}  // namespace

TEST(Batching, EverySentenceOncePerEpochAndDeterministic) {
  auto ex = ragged(1000);
  BatchPlanOptions o;
  o.batch_size = 32;
  o.seed = 3;
  auto plan = plan_batches(ex, o, 0);
  std::vector<int> seen;
  for (const auto& b : plan) {
    EXPECT_LE(b.size(), 32u);
    seen.insert(seen.end(), b.begin(), b.end());
  }
  std::sort(seen.begin(), seen.end());
  std::vector<int> all(1000);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(seen, all);
  EXPECT_EQ(plan_batches(ex, o, 0), plan);
  EXPECT_NE(plan_batches(ex, o, 1), plan);  // reshuffled each epoch
}

TEST(Batching, TokenBudgetRespectedAndPaddingSmall) {
  auto ex = ragged(2000);
  BatchPlanOptions o;
  o.batch_tokens = 400;
  auto plan = plan_batches(ex, o, 0);
  size_t total = 0;
  for (const auto& b : plan) {
    size_t m = 0;
    for (int i : b) m = std::max(m, std::max(ex[i].src.size(), ex[i].tgt.size()) + 1);
    EXPECT_LE(m * b.size(), 400u);
    total += b.size();
  }
  EXPECT_EQ(total, 2000u);
  double bucketed = padding_ratio(ex, plan);
  BatchPlanOptions nob = o;
  nob.bucket_batches = 1;
  nob.batch_tokens = 0;
  nob.batch_size = 20;
  EXPECT_LT(bucketed, padding_ratio(ex, plan_batches(ex, nob, 0)));
  EXPECT_LT(bucketed, 0.35);
}

TEST(Batching, TensorsCarrySpecialsAndPadding) {
  std::vector<Example> ex = {{{4, 5}, {6}, 1}, {{7}, {8, 9, 10}, 2}};
  Batch b = make_batch(ex, {0, 1});
  EXPECT_TRUE(torch::equal(b.src, torch::tensor(std::vector<int64_t>{4, 5, Vocab::kEos, 7, Vocab::kEos, Vocab::kPad}).view({2, 3})));
  EXPECT_TRUE(torch::equal(b.src_len, torch::tensor({3L, 2L})));
  EXPECT_TRUE(torch::equal(b.tgt_in, torch::tensor(std::vector<int64_t>{Vocab::kBos, 6, 0, 0, Vocab::kBos, 8, 9, 10}).view({2, 4})));
  EXPECT_TRUE(torch::equal(b.tgt_out, torch::tensor(std::vector<int64_t>{6, Vocab::kEos, 0, 0, 8, 9, 10, Vocab::kEos}).view({2, 4})));
  EXPECT_EQ(b.tgt_tokens, 6);
}
