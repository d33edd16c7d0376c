// Several checkpoints together, through the CLI: ensemble decoding,
// checkpoint averaging, forced-decoding scores and n-best rescoring.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <sstream>

#include "test_util.h"
#include "train/checkpoint.h"
#include "util/text_file.h"

using namespace attn;
using attn::test::run_attn;
using attn::test::TempDir;
using attn::test::write_text;
using json = nlohmann::json;

namespace {

struct NbestRow {
  int index;
  std::string text;
  double score;
};

std::vector<NbestRow> parse_nbest(const std::string& s) {
  std::vector<NbestRow> rows;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) {
    size_t a = l.find(" ||| "), b = l.rfind(" ||| ");
    EXPECT_NE(a, b) << l;
    rows.push_back({std::stoi(l.substr(0, a)), l.substr(a + 5, b - a - 5), std::stod(l.substr(b + 5))});
  }
  return rows;
}

std::vector<double> log_probs(const std::string& tsv) {
  std::vector<double> v;
  std::istringstream in(tsv);
  for (std::string l; std::getline(in, l);) v.push_back(l.empty() ? NAN : std::stod(l.substr(0, l.find('\t'))));
  return v;
}

}  // namespace

class Ensembles : public ::testing::Test {
 protected:
  // Two models of one architecture and vocabulary (seeds 1 and 2), and one
  // trained on a different vocabulary.
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    auto config = [](int vocab) {
      return R"({"data": {"toy": {"task": "reverse", "n_train": 600, "n_valid": 20, "n_test": 20, "min_len": 2,
        "max_len": 5, "test_min_len": 2, "test_max_len": 5, "vocab": )" +
             std::to_string(vocab) + R"(}, "batch_size": 32},
        "model": {"emb": 16, "hidden": 16, "dec_hidden": 32, "dropout": 0.0},
        "train": {"lr": 0.005, "max_steps": 80, "valid_every": 40, "keep_best": 2}})";
    };
    write_text(path("c.json"), config(6));
    write_text(path("other.json"), config(7));
    for (auto [run, cfg, seed] : {std::tuple{"a", "c.json", 1}, {"b", "c.json", 2}, {"v", "other.json", 1}}) {
      auto r = run_attn("--log-level warn train --config " + path(cfg) + " --run-dir " + path(run) +
                        " --set train.seed=" + std::to_string(seed));
      ASSERT_EQ(r.code, 0) << r.err;
    }
    write_text(path("in.txt"), "a b c\nd e\n\nf a b d\n");
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string path(const std::string& p) { return dir_->path(p); }
  static std::string ckpt(const std::string& run) { return path(run + "/checkpoints/last.ckpt"); }
  static TempDir* dir_;
};
TempDir* Ensembles::dir_ = nullptr;

TEST_F(Ensembles, TwoCheckpointsDecodeWithTheMeanOfTheirLogProbabilities) {
  auto ens = run_attn("translate --checkpoint " + ckpt("a") + " " + ckpt("b") + " -i " + path("in.txt") +
                      " --beam 3 --nbest 3 --length-penalty 0");
  ASSERT_EQ(ens.code, 0) << ens.err;
  auto rows = parse_nbest(ens.out);
  ASSERT_GE(rows.size(), 7u);
  // Each hypothesis scored by each member alone: the ensemble's score is their mean.
  auto sources = read_lines(path("in.txt"));
  std::string src, tgt;
  for (const auto& r : rows) src += sources[static_cast<size_t>(r.index)] + "\n", tgt += r.text + "\n";
  write_text(path("ens.src"), src);
  write_text(path("ens.tgt"), tgt);
  auto sa = run_attn("score --checkpoint " + ckpt("a") + " --src " + path("ens.src") + " --tgt " + path("ens.tgt"));
  auto sb = run_attn("score --checkpoint " + ckpt("b") + " --src " + path("ens.src") + " --tgt " + path("ens.tgt"));
  ASSERT_EQ(sa.code, 0) << sa.err;
  ASSERT_EQ(sb.code, 0) << sb.err;
  auto la = log_probs(sa.out), lb = log_probs(sb.out);
  ASSERT_EQ(la.size(), rows.size());
  int compared = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (sources[static_cast<size_t>(rows[i].index)].empty()) continue;  // empty in, empty out: nothing decoded
    EXPECT_NEAR(rows[i].score, (la[i] + lb[i]) / 2, 2e-4) << i << ": " << rows[i].text;
    EXPECT_GT(std::abs(la[i] - lb[i]), 1e-3) << "the members must disagree for the mean to mean anything";
    ++compared;
  }
  EXPECT_EQ(compared, 9);
  EXPECT_NE(ens.err.find("beam 3"), std::string::npos) << ens.err;
}

TEST_F(Ensembles, OneCheckpointTwiceIsThatCheckpoint) {
  for (const std::string opts : {"", " --beam 4 --nbest 2"}) {
    auto one = run_attn("translate --checkpoint " + ckpt("a") + " -i " + path("in.txt") + opts);
    auto two = run_attn("translate --checkpoint " + ckpt("a") + " " + ckpt("a") + " -i " + path("in.txt") + opts);
    ASSERT_EQ(one.code, 0) << one.err;
    EXPECT_EQ(one.out, two.out) << opts;
  }
}

TEST_F(Ensembles, CheckpointsWithAnotherVocabularyAreRefusedWithOneLine) {
  for (const std::string cmd : {"translate -i " + path("in.txt"), "average --out " + path("x.ckpt") + " --checkpoints"}) {
    auto r = run_attn(cmd + (cmd[0] == 't' ? " --checkpoint " : " ") + ckpt("a") + " " + ckpt("v"));
    EXPECT_EQ(r.code, 1) << cmd;
    EXPECT_EQ(r.err, "error: " + ckpt("v") + ": its source vocabulary differs from " + ckpt("a") +
                         "'s; checkpoints used together must share vocabularies and tokenizers\n");
  }
  EXPECT_FALSE(std::filesystem::exists(path("x.ckpt")));
}

TEST_F(Ensembles, AverageHoldsTheMeanOfEveryParameterAndTranslates) {
  auto r = run_attn("average --checkpoints " + ckpt("a") + " " + ckpt("b") + " --out " + path("avg.ckpt"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("averaged 2 checkpoints (steps [80,80])"), std::string::npos) << r.out;
  Checkpoint avg = load_checkpoint(path("avg.ckpt")), a = load_checkpoint(ckpt("a")), b = load_checkpoint(ckpt("b"));
  auto pa = a.model->named_parameters(), pb = b.model->named_parameters();
  size_t n = 0;
  for (const auto& p : avg.model->named_parameters()) {
    EXPECT_TRUE(torch::allclose(p.value(), (pa[p.key()] + pb[p.key()]) / 2, 1e-6, 1e-7)) << p.key();
    ++n;
  }
  EXPECT_EQ(n, pa.size());
  EXPECT_EQ(avg.trainer_state["averaged_from"], json({ckpt("a"), ckpt("b")}));
  // No optimiser state: the file is the model, config and vocabularies only.
  EXPECT_LT(std::filesystem::file_size(path("avg.ckpt")), std::filesystem::file_size(ckpt("a")));
  auto t = run_attn("translate --checkpoint " + path("avg.ckpt") + " -i " + path("in.txt"));
  EXPECT_EQ(t.code, 0) << t.err;
  EXPECT_EQ(std::count(t.out.begin(), t.out.end(), '\n'), 4);
  // Averaging one model with itself changes nothing.
  ASSERT_EQ(run_attn("average --checkpoints " + ckpt("a") + " " + ckpt("a") + " --out " + path("aa.ckpt")).code, 0);
  Checkpoint aa = load_checkpoint(path("aa.ckpt"));
  for (const auto& p : aa.model->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), pa[p.key()])) << p.key();
}

TEST_F(Ensembles, AnotherArchitectureIsNotAveraged) {
  auto t = run_attn("--log-level warn train --config " + path("c.json") + " --run-dir " + path("big") +
                    " --set model.dec_hidden=24 --set train.max_steps=2");
  ASSERT_EQ(t.code, 0) << t.err;
  auto r = run_attn("average --checkpoints " + ckpt("a") + " " + ckpt("big") + " --out " + path("x.ckpt"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: " + ckpt("big") + ": model.dec_hidden differs from " + ckpt("a") +
                       "'s; only checkpoints of one architecture can be averaged\n");
  EXPECT_FALSE(std::filesystem::exists(path("x.ckpt")));
}

TEST_F(Ensembles, ScoreGivesWhatSearchGaveAndRescoresNbestLists) {
  auto nb = run_attn("translate --checkpoint " + ckpt("a") + " -i " + path("in.txt") +
                     " --beam 4 --nbest 4 --length-penalty 0");
  ASSERT_EQ(nb.code, 0) << nb.err;
  write_text(path("nbest.txt"), nb.out);
  // Rescored by the model that made it: the same scores in the same order.
  auto same = run_attn("score --checkpoint " + ckpt("a") + " --src " + path("in.txt") + " --nbest " + path("nbest.txt"));
  ASSERT_EQ(same.code, 0) << same.err;
  EXPECT_EQ(same.out, nb.out);
  // Rescored by another: the same hypotheses, b's log-probabilities, best first per sentence.
  auto other = run_attn("score --checkpoint " + ckpt("b") + " --src " + path("in.txt") + " --nbest " + path("nbest.txt"));
  ASSERT_EQ(other.code, 0) << other.err;
  auto before = parse_nbest(nb.out), after = parse_nbest(other.out);
  ASSERT_EQ(before.size(), after.size());
  EXPECT_NE(other.out, nb.out);
  for (size_t i = 1; i < after.size(); ++i)
    if (after[i].index == after[i - 1].index) EXPECT_LE(after[i].score, after[i - 1].score) << i;
  // Total and per token, against the JSON form; tokens are the words and </s>.
  write_text(path("hyp.txt"), "c b a\ne d\n\nd b a f\n");
  auto tsv = run_attn("score --checkpoint " + ckpt("a") + " --src " + path("in.txt") + " --tgt " + path("hyp.txt"));
  auto js = run_attn("score --json --checkpoint " + ckpt("a") + " --src " + path("in.txt") + " --tgt " + path("hyp.txt"));
  ASSERT_EQ(tsv.code, 0) << tsv.err;
  auto lines = read_lines(path("in.txt"));
  std::istringstream t(tsv.out), j(js.out);
  std::string tl, jl;
  for (int words : {3, 2, -1, 4}) {
    ASSERT_TRUE(std::getline(t, tl) && std::getline(j, jl));
    json row = json::parse(jl);
    if (words < 0) {  // an empty source: an empty line, no score
      EXPECT_EQ(tl, "");
      EXPECT_FALSE(row.contains("log_prob"));
      continue;
    }
    EXPECT_EQ(row["tokens"], words + 1);
    EXPECT_NEAR(row["per_token"].get<double>() * (words + 1), row["log_prob"].get<double>(), 1e-9);
    EXPECT_NEAR(std::stod(tl), row["log_prob"].get<double>(), 1e-4);
    EXPECT_LT(row["log_prob"].get<double>(), 0.0);
  }
}

TEST_F(Ensembles, ScoreRefusesMismatchedFilesWithOneLine) {
  write_text(path("short.txt"), "a b\n");
  auto r = run_attn("score --checkpoint " + ckpt("a") + " --src " + path("in.txt") + " --tgt " + path("short.txt"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: " + path("short.txt") + " has 1 lines but " + path("in.txt") + " has 4\n");
  write_text(path("bad.nbest"), "0 ||| a ||| -1\n7 ||| b ||| -2\n");
  r = run_attn("score --checkpoint " + ckpt("a") + " --src " + path("in.txt") + " --nbest " + path("bad.nbest"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: " + path("bad.nbest") + ":2: index 7 but the source has 4 lines\n");
  write_text(path("bad2.nbest"), "0 a -1\n");
  r = run_attn("score --checkpoint " + ckpt("a") + " --src " + path("in.txt") + " --nbest " + path("bad2.nbest"));
  EXPECT_EQ(r.err, "error: " + path("bad2.nbest") + ":1: expected INDEX ||| TEXT ||| SCORE\n");
}

TEST_F(Ensembles, ScoreDumpsTheForcedAttentionOfEachPair) {
  auto r = run_attn("score --checkpoint " + ckpt("a") + " --src " + path("in.txt") + " --tgt " + path("in.txt") +
                    " --dump-attention " + path("forced"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto recs = read_lines(path("forced/alignments.jsonl"));
  ASSERT_EQ(recs.size(), 3u);  // the empty line has nothing to align
  json first = json::parse(recs[0]);
  EXPECT_EQ(first["target"], json({"a", "b", "c"}));  // the given target, not a translation
  ASSERT_EQ(first["weights"].size(), 3u);
  for (const auto& row : first["weights"]) {
    double sum = 0;
    for (double w : row) sum += w;
    EXPECT_NEAR(sum, 1.0, 1e-4);
  }
  EXPECT_TRUE(std::filesystem::exists(path("forced/attention.html")));
}
