// The attn binary end to end: exit codes, messages, files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <torch/cuda.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "test_util.h"
#include "util/text_file.h"

using namespace attn;
using json = nlohmann::json;
using attn::test::run_attn;
using attn::test::TempDir;
using attn::test::read_text;
using attn::test::write_text;

namespace {

int count(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

// A tiny trained model for the translate/evaluate tests.
std::string trained_checkpoint(const TempDir& d) {
  write_text(d.path("c.json"), R"({"data": {"toy": {"task": "copy", "n_train": 300, "n_valid": 20, "n_test": 20,
    "min_len": 2, "max_len": 5, "test_min_len": 2, "test_max_len": 5, "vocab": 6}},
    "model": {"emb": 8, "hidden": 8, "dec_hidden": 16},
    "train": {"max_steps": 10, "valid_every": 10}})");
  auto r = run_attn("--log-level warn train --config " + d.path("c.json") + " --run-dir " + d.path("run"));
  EXPECT_EQ(r.code, 0) << r.err;
  return d.path("run/checkpoints/last.ckpt");
}

}  // namespace

TEST(Cli, ConfigCheckReportsThreeMistakesAndExits2) {
  TempDir d;
  write_text(d.path("bad.json"), R"({"model": {"attention": {"score": "luong-gneral"}, "hiden": 5},
                                      "train": {"lr": "fast"}})");
  auto r = run_attn("config check " + d.path("bad.json"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(count(r.err, "error: "), 3) << r.err;
  EXPECT_NE(r.err.find("model.attention.score: \"luong-gneral\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean \"general\""), std::string::npos);
  EXPECT_NE(r.err.find("model.hiden: unknown key"), std::string::npos);
  EXPECT_NE(r.err.find("train.lr: expected a number"), std::string::npos);
}

// Every refusal is one line "error: WHAT (WHERE)" with exit 2, CLI11's included.
TEST(Cli, UsageErrorsSpeakOneFormat) {
  TempDir d;
  std::filesystem::create_directories(d.path("adir"));
  struct Case {
    std::string args, says;
  };
  for (const Case& c : std::vector<Case>{
           {"train --config " + d.path("adir"), "error: --config: " + d.path("adir") + ": is a directory, expected a file"},
           {"train --config " + d.path("nofile.json"), "error: --config: " + d.path("nofile.json") + ": no such file"},
           {"data toy --n 0 --out " + d.path("t"), "error: --n: must be at least 1 (got 0)"},
           {"data toy --n many --out " + d.path("t"), "error: --n: expected a number, at least 1 (got \"many\")"},
           {"data toy --task nosuch --out " + d.path("t"), "error: --task: nosuch not in {copy,reverse,sort,toy-translate}"},
           {"data toy --min-len 9 --max-len 3 --out " + d.path("t"), "error: --min-len 9 is larger than --max-len 3"},
           {"--threads 0 info", "error: --threads: must be from 1 to 256 (got 0)"},
           {"translate --checkpoint x.ckpt --beam 0", "error: --beam: must be from 1 to 1000 (got 0)"},
           {"data", "error: A subcommand is required"}}) {
    auto r = run_attn(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.err;
    EXPECT_EQ(r.err, c.says + "\n") << c.args;
  }
  EXPECT_FALSE(std::filesystem::exists(d.path("t.src")));
  auto help = run_attn("data toy --help");  // help is no error
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--min-len"), std::string::npos);
}

// "No usable pairs" says how many each filter dropped and which setting to change.
TEST(Cli, NoUsableTrainingPairsSaysWhy) {
  TempDir d;
  ASSERT_EQ(run_attn("data toy --n 40 --min-len 3 --max-len 6 --out " + d.path("tr")).code, 0);
  write_text(d.path("c.json"), "{\"data\": {\"train_src\": \"" + d.path("tr.src") + "\", \"train_tgt\": \"" +
                                   d.path("tr.tgt") + "\", \"valid_src\": \"" + d.path("tr.src") +
                                   "\", \"valid_tgt\": \"" + d.path("tr.tgt") + "\", \"max_src_len\": 2}}");
  auto r = run_attn("--log-level warn train --config " + d.path("c.json") + " --run-dir " + d.path("run"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no usable training pairs (of 40 lines: 40 longer than data.max_src_len=2 source tokens; "
                       "raise data.max_src_len)"),
            std::string::npos)
      << r.err;
}

TEST(Cli, ConfigDefaultsIsAValidConfig) {
  TempDir d;
  auto r = run_attn("config defaults");
  ASSERT_EQ(r.code, 0);
  write_text(d.path("defaults.json"), r.out);
  EXPECT_EQ(run_attn("config check " + d.path("defaults.json")).code, 0);
  // From the repository, as the README runs them: their data paths are relative to it.
  for (const char* c : {"compare_toy.json", "compare_toy_translate.json", "toy_reverse.json", "sample_de_en.json"}) {
    auto check = run_attn("config check configs/" + std::string(c), "", "cd " + attn::test::source_dir() + " &&");
    EXPECT_EQ(check.code, 0) << c << ": " << check.err;
  }
}

TEST(Cli, ConfigCheckNamesMissingDataFiles) {
  TempDir d;
  write_text(d.path("c.json"), R"({"data": {"train_src": "/nope/a.de", "train_tgt": "/nope/a.en"}})");
  auto r = run_attn("config check " + d.path("c.json"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(count(r.err, "no such file"), 2) << r.err;
  EXPECT_NE(r.err.find("data.train_tgt: /nope/a.en: no such file"), std::string::npos) << r.err;
}

TEST(Cli, UsageErrorsExit2) {
  EXPECT_EQ(run_attn("").code, 2);
  EXPECT_EQ(run_attn("nonsense").code, 2);
  EXPECT_EQ(run_attn("train").code, 2);
  EXPECT_EQ(run_attn("--help").code, 0);
  EXPECT_NE(run_attn("translate --help").out.find("Example"), std::string::npos);
}

TEST(Cli, MissingDataFileIsARuntimeError) {
  TempDir d;
  write_text(d.path("c.json"), R"({"data": {"train_src": "/nonexistent/a.de", "train_tgt": "/nonexistent/a.en",
                                             "valid_src": "/nonexistent/v.de", "valid_tgt": "/nonexistent/v.en"}})");
  auto r = run_attn("train --config " + d.path("c.json") + " --run-dir " + d.path("run"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("error: /nonexistent/a.de: no such file"), std::string::npos) << r.err;
}

TEST(Cli, EvaluateHypRefPrintsSacrebleuLineFirst) {
  TempDir d;
  write_text(d.path("hyp"), "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him.\n");
  write_text(d.path("ref"), "The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\n");
  auto r = run_attn("evaluate --hyp " + d.path("hyp") + " --ref " + d.path("ref"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 7), "BLEU = ");
  EXPECT_NE(r.out.find("ratio = "), std::string::npos);
  auto j = run_attn("evaluate --hyp " + d.path("hyp") + " --ref " + d.path("ref") + " --json");
  auto parsed = json::parse(j.out);
  EXPECT_TRUE(parsed.contains("bleu"));
  EXPECT_TRUE(parsed.contains("chrf"));
  write_text(d.path("short"), "one line\n");
  EXPECT_EQ(run_attn("evaluate --hyp " + d.path("short") + " --ref " + d.path("ref")).code, 1);
}

TEST(Cli, TranslateDrawsAsManyAsAskedAndNamesModelAndDecoding) {
  TempDir d;
  std::string ck = trained_checkpoint(d);
  auto r = run_attn("translate --checkpoint " + ck + " --beam 2 --dump-attention " + d.path("att") + " --draw 2",
                    "a b c\nb a\nc\na a\nb\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("attention of 5 sentences in"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 drawn in"), std::string::npos) << r.err;
  int svgs = 0;
  for (const auto& f : std::filesystem::directory_iterator(d.path("att/svg"))) svgs += f.path().extension() == ".svg";
  EXPECT_EQ(svgs, 2);
  std::string html = read_file(d.path("att/attention.html"));
  EXPECT_NE(html.find("bahdanau, additive attention"), std::string::npos);
  EXPECT_NE(html.find("beam 2"), std::string::npos);
  EXPECT_NE(html.find(ck), std::string::npos);
  EXPECT_EQ(html.find("Red outlines"), std::string::npos);  // translate has no gold to outline
  EXPECT_EQ(html.find("<h2></h2>"), std::string::npos);     // no empty heading
  EXPECT_NE(html.find("href=\"#m0-0\""), std::string::npos);  // an index linking to each map
  EXPECT_NE(html.find("id=\"m0-0\""), std::string::npos);
  std::string svg = read_file(d.path("att/svg/sentence-0.svg"));
  EXPECT_NE(svg.find("bahdanau, additive attention"), std::string::npos);
}

TEST(Cli, TranslateIgnoresAByteOrderMarkAndFailsWhenItCannotWrite) {
  TempDir d;
  std::string ck = trained_checkpoint(d);
  // The source the model saw, as the attention dump records it: "a", not the mark glued to "a".
  auto first_source_token = [&](const std::string& input, const std::string& stdin_text) {
    auto r = run_attn("--log-level warn translate --checkpoint " + ck + " --input " + input + " --dump-attention " +
                          d.path("att"),
                      stdin_text);
    EXPECT_EQ(r.code, 0) << r.err;
    return json::parse(read_lines(d.path("att/alignments.jsonl")).front())["source"][0].get<std::string>();
  };
  EXPECT_EQ(first_source_token("-", "\xEF\xBB\xBF" "a b c d\n"), "a");
  write_text(d.path("bom.src"), "\xEF\xBB\xBF" "a b c d\n");
  EXPECT_EQ(first_source_token(d.path("bom.src"), ""), "a");
  // A full device as standard output: non-zero and one line, not success.
  write_text(d.path("in.txt"), "a b\n");
  std::string cmd = std::string(ATTN_BINARY) + " --log-level warn translate --checkpoint " + ck + " <" +
                    d.path("in.txt") + " >/dev/full 2>" + d.path("err.txt");
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(read_file(d.path("err.txt")).find("cannot write the translations to standard output"), std::string::npos)
      << read_file(d.path("err.txt"));
}

TEST(Cli, TranslateKeepsOrderAndEmptyLinesAndDumpsAttention) {
  TempDir d;
  std::string ck = trained_checkpoint(d);
  auto r = run_attn("--log-level warn translate --checkpoint " + ck + " --dump-attention " + d.path("att"),
                    "a b c\n\nb a\n");
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = count(r.out, "\n");
  EXPECT_EQ(lines, 3);
  EXPECT_EQ(r.out.substr(r.out.find('\n') + 1, 1), "\n");  // empty in, empty out
  EXPECT_TRUE(std::filesystem::exists(d.path("att/alignments.jsonl")));
  EXPECT_TRUE(std::filesystem::exists(d.path("att/attention.html")));
  EXPECT_EQ(read_lines(d.path("att/alignments.jsonl")).size(), 2u);
  auto nb = run_attn("--log-level warn translate --checkpoint " + ck + " --beam 3 --nbest 2", "a b\n");
  EXPECT_EQ(count(nb.out, " ||| "), 4) << nb.out;
  auto bad = run_attn("translate --checkpoint " + ck, "ok\n\xFF\xFE\n");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("<stdin>:2: invalid UTF-8"), std::string::npos) << bad.err;
  auto nock = run_attn("translate --checkpoint " + d.path("nope.ckpt"), "a\n");
  EXPECT_EQ(nock.code, 1);
  EXPECT_NE(nock.err.find("no such checkpoint"), std::string::npos);
}

TEST(Cli, EvaluateCheckpointWritesReport) {
  TempDir d;
  std::string ck = trained_checkpoint(d);
  auto r = run_attn("--log-level warn evaluate --checkpoint " + ck + " --src " + d.path("run/data/test.src") +
                    " --ref " + d.path("run/data/test.tgt") + " --align " + d.path("run/data/test.align") +
                    " --out " + d.path("eval"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 7), "BLEU = ");
  auto m = json::parse(read_file(d.path("eval/metrics.json")));
  for (const char* k : {"bleu", "chrf", "perplexity", "exact_match", "token_accuracy", "aer", "aer_by_shift",
                        "alignment_accuracy", "alignment_accuracy_by_shift", "attention_entropy", "by_source_length"})
    EXPECT_TRUE(m.contains(k)) << k;
  EXPECT_EQ(read_lines(d.path("eval/hyp.align")).size(), 20u);
  auto entropy = json::parse(read_file(d.path("eval/entropy.json")));
  EXPECT_EQ(entropy["over_training"].size(), 1u);  // one validation in the checkpoint's run
  EXPECT_EQ(entropy["bands"].size(), 4u);
  EXPECT_TRUE(std::filesystem::exists(d.path("eval/svg/sentence-0.svg")));
}

namespace {
// `attn train` of a long toy run in a child process (stdout, stderr to files);
// ignore_hup: started as under nohup.
pid_t start_long_training(TempDir& d, bool ignore_hup = false) {
  write_text(d.path("c.json"), R"({"data": {"toy": {"task": "reverse", "n_train": 2000, "n_valid": 20, "min_len": 3, "max_len": 20}},
    "model": {"emb": 16, "hidden": 16, "dec_hidden": 32}, "train": {"max_steps": 1000000, "valid_every": 100000}})");
  std::string cmd = std::string(ATTN_BINARY), run = d.path("run");
  pid_t pid = fork();
  if (pid == 0) {
    freopen(d.path("out.txt").c_str(), "w", stdout);
    freopen(d.path("err.txt").c_str(), "w", stderr);
    if (ignore_hup) signal(SIGHUP, SIG_IGN);
    execl(cmd.c_str(), cmd.c_str(), "train", "--config", d.path("c.json").c_str(), "--run-dir", run.c_str(), nullptr);
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  return pid;
}

// Stopped cleanly: exit 0, last.ckpt written, and --resume continues it.
void expect_resumable_stop(TempDir& d, pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0) << read_file(d.path("err.txt"));
  EXPECT_NE(read_file(d.path("out.txt")).find("--resume"), std::string::npos);
  std::string run = d.path("run");
  EXPECT_TRUE(std::filesystem::exists(run + "/checkpoints/last.ckpt"));
  auto r = run_attn("--log-level warn train --config " + d.path("c.json") + " --run-dir " + run +
                    " --resume --set train.max_steps=3");
  EXPECT_EQ(r.code, 0) << r.err;
}
}  // namespace

TEST(Cli, SigintWritesAResumableCheckpointAndExits0) {
  TempDir d;
  pid_t pid = start_long_training(d);
  kill(pid, SIGINT);
  expect_resumable_stop(d, pid);
}

// A closed terminal (SIGHUP, sent by the kernel and again by the shell) stops
// like SIGTERM; train.log keeps the resume command the terminal can no longer show.
TEST(Cli, SighupFromAClosedTerminalStopsResumably) {
  TempDir d;
  pid_t pid = start_long_training(d);
  kill(pid, SIGHUP);
  kill(pid, SIGHUP);
  expect_resumable_stop(d, pid);
  std::string log = read_file(d.path("run/train.log"));
  EXPECT_NE(log.find("SIGHUP"), std::string::npos) << log;
  EXPECT_NE(log.find("--resume"), std::string::npos) << log;
}

// Under nohup, SIGHUP stays ignored: training goes on.
TEST(Cli, SighupUnderNohupIsIgnored) {
  TempDir d;
  pid_t pid = start_long_training(d, /*ignore_hup=*/true);
  kill(pid, SIGHUP);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0) << "training ended on SIGHUP under nohup";
  kill(pid, SIGTERM);
  expect_resumable_stop(d, pid);
}

TEST(Cli, ScaledDownCompareShowsAttentionBeatingTheBottleneck) {
  TempDir d;
  write_text(d.path("c.json"), R"({
    "data": {"toy": {"task": "reverse", "n_train": 4000, "n_valid": 100, "n_test": 200, "min_len": 3, "max_len": 14,
                     "test_min_len": 3, "test_max_len": 20, "vocab": 10, "seed": 2}, "batch_size": 32},
    "model": {"emb": 32, "hidden": 64, "dec_hidden": 64, "dropout": 0.0},
    "train": {"lr": 0.003, "max_steps": 400, "valid_every": 200, "metric": "exact_match"},
    "output": {"dump_attention": 3},
    "compare": {"parallel": 2, "models": [
      {"name": "bottleneck", "model": {"type": "bottleneck"}},
      {"name": "bahdanau", "model": {"type": "bahdanau"}}]}})");
  auto r = run_attn("--log-level warn compare --config " + d.path("c.json") + " --out " + d.path("out"));
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  for (const char* f : {"results.json", "report.md", "accuracy_vs_length.svg", "bleu_vs_length.svg", "attention.html",
                        "entropy.json", "models/bahdanau/test_alignments.jsonl", "loss_over_training.svg",
                        "entropy_over_training.svg", "entropy_vs_length.svg", "models/bahdanau/loss.svg",
                        "models/bahdanau/valid_attention.html"})
    EXPECT_TRUE(std::filesystem::exists(d.path(std::string("out/") + f))) << f;
  auto res = json::parse(read_file(d.path("out/results.json")));
  EXPECT_TRUE(json::parse(read_file(d.path("out/entropy.json"))).is_object());
  ASSERT_EQ(res["models"].size(), 2u);
  EXPECT_EQ(res["format"], "attn.compare/2");
  // The dumped attention is versioned and carries the reference, the verdict and the model.
  json line = json::parse(read_lines(d.path("out/models/bahdanau/test_alignments.jsonl")).front());
  EXPECT_EQ(line["format"], "attn.attention/2");
  for (const char* k : {"hard_links", "gold_sure", "gold_possible", "reference", "correct", "model", "score"})
    EXPECT_TRUE(line.contains(k)) << k;
  auto longest = [&](const json& m) { return m["test"]["by_source_length"].back(); };
  EXPECT_EQ(longest(res["models"][1])["src_len"], "11-20");
  double bottleneck = longest(res["models"][0])["exact_match"], bahdanau = longest(res["models"][1])["exact_match"];
  EXPECT_GT(bahdanau, bottleneck + 0.2) << "bahdanau " << bahdanau << " vs bottleneck " << bottleneck;
  EXPECT_NE(r.out.find("| bahdanau |"), std::string::npos) << r.out;
  std::string svg = read_file(d.path("out/accuracy_vs_length.svg"));
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_NE(read_file(d.path("out/attention.html")).find("<rect"), std::string::npos);
  // report.md explains itself: task, budget, the checkpoint scored, definitions, plots.
  std::string md = read_file(d.path("out/report.md"));
  for (const char* s : {"the synthetic `reverse` task", "at most 400 updates of 32 sentences", "validation exact_match",
                        "**Decoding**: greedy", "| scored |", "best @ ", "**EM a-b**",
                        "![exact match against source length](accuracy_vs_length.svg)",
                        "![attention entropy over training](entropy_over_training.svg)"})
    EXPECT_NE(md.find(s), std::string::npos) << s;
  // The report can be rebuilt from the trained models alone.
  std::filesystem::remove(d.path("out/results.json"));
  auto again = run_attn("--log-level warn compare --report-only --config " + d.path("c.json") + " --out " + d.path("out"));
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_TRUE(std::filesystem::exists(d.path("out/results.json")));
}

TEST(Cli, DataToyAndStats) {
  TempDir d;
  auto a = run_attn("data toy --task reverse --n 50 --min-len 3 --max-len 4 --vocab 3 --out " + d.path("train"));
  ASSERT_EQ(a.code, 0) << a.err;
  auto b = run_attn("data toy --task reverse --n 20 --min-len 3 --max-len 4 --vocab 3 --seed 9 --exclude " +
                    d.path("train.src") + " --out " + d.path("test"));
  ASSERT_EQ(b.code, 0) << b.err;
  auto train = read_lines(d.path("train.src"));
  std::set<std::string> seen(train.begin(), train.end());
  for (const auto& l : read_lines(d.path("test.src"))) EXPECT_FALSE(seen.count(l)) << l;
  write_text(d.path("c.json"), R"({"data": {"toy": {"task": "copy", "n_train": 100, "n_valid": 10}, "batch_size": 10}})");
  auto s = run_attn("--log-level warn data stats --config " + d.path("c.json") + " --dir " + d.path("stats"));
  ASSERT_EQ(s.code, 0) << s.err;
  auto j = json::parse(s.out);
  EXPECT_EQ(j["pairs"], 100);
  EXPECT_EQ(j["batches"], 10);
  EXPECT_TRUE(j.contains("padding_ratio"));
}

TEST(Cli, SentencepieceRunFromConfigToTranslation) {
  // train learns a joint spm model from the .gz corpus, stores it in the
  // checkpoint, and translate segments and detokenises with it.
  TempDir d;
  ATTN_SKIP_WITHOUT_MULTI30K();
  std::string m30k = attn::test::multi30k_dir() + "/";
  write_text(d.path("c.json"), std::string(R"({"data": {"train_src": ")") + m30k + R"(train.de.gz", "train_tgt": ")" +
                                   m30k + R"(train.en.gz", "valid_src": ")" + m30k + R"(val.de.gz", "valid_tgt": ")" +
                                   m30k + R"(val.en.gz", "tokenizer": "spm", "spm": {"vocab_size": 1000},
    "max_src_len": 30, "max_tgt_len": 30, "batch_size": 32},
    "model": {"emb": 8, "hidden": 8, "dec_hidden": 16}, "train": {"max_steps": 2, "valid_every": 2},
    "decode": {"max_len_ratio": 0.5, "max_len_add": 2}})");
  auto r = run_attn("--log-level warn train --config " + d.path("c.json") + " --run-dir " + d.path("run"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(d.path("run/spm/joint.model")));
  std::filesystem::copy_file(d.path("run/spm/joint.model"), d.path("joint.model"));
  std::filesystem::remove_all(d.path("run/spm"));  // the checkpoint must carry the model itself
  auto t = run_attn("--log-level warn translate --checkpoint " + d.path("run/checkpoints/last.ckpt"),
                    "Zwei Männer stehen am Strand.\n");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_EQ(count(t.out, "\n"), 1);
  EXPECT_EQ(t.out.find("\xE2\x96\x81"), std::string::npos) << t.out;  // no raw "▁" pieces left
  // A second run given the first one's model trains none and can join it in an ensemble.
  auto r2 = run_attn("train --config " + d.path("c.json") + " --run-dir " + d.path("run2") + " --set train.seed=5" +
                     " --set data.spm.model=" + d.path("joint.model"));
  ASSERT_EQ(r2.code, 0) << r2.err;
  EXPECT_EQ(r2.err.find("training sentencepiece"), std::string::npos) << r2.err;
  auto e = run_attn("--log-level warn translate --checkpoint " + d.path("run/checkpoints/last.ckpt") + " " +
                        d.path("run2/checkpoints/last.ckpt"),
                    "Zwei Männer stehen am Strand.\n");
  EXPECT_EQ(e.code, 0) << e.err;
}

TEST(Cli, InfoReportsTheBlasInUseWithAMeasuredRate) {
  auto r = run_attn("info --quick --json");
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_FALSE(j["cpu"].get<std::string>().empty());
  EXPECT_EQ(j["threads"], 1);
  const json& b = j["blas"];
  EXPECT_TRUE(b["ok"].get<bool>()) << b.dump();  // whichever BLAS this machine has, it must compute right
  EXPECT_NE(b["path"].get<std::string>().find("lib"), std::string::npos);
  EXPECT_EQ(b["gflops"].size(), j["shapes"].size());
  EXPECT_GT(b["gflops_geomean"].get<double>(), 0.0);
  EXPECT_FALSE(j.contains("other_blas"));  // --quick measures only the one in use
  EXPECT_EQ(j["kernels"], "fused");
  // ATTN_KERNELS=aten selects the ATen reference for the whole run, and info says so.
  auto aten = run_attn("info --quick --json", "", "ATTN_KERNELS=aten");
  ASSERT_EQ(aten.code, 0) << aten.err;
  EXPECT_EQ(json::parse(aten.out)["kernels"], "aten");
  auto typo = run_attn("info --quick --json", "", "ATTN_KERNELS=atne");
  EXPECT_EQ(typo.code, 2);
  EXPECT_NE(typo.err.find("ATTN_KERNELS=atne: expected fused or aten"), std::string::npos) << typo.err;
}

// On a terminal the progress is one status line on stderr that log lines
// clear before they print (validation lines were glued to a stale progress
// line on stdout), cut to the width so it never wraps; "valid in" counts to
// the end of the run when max_steps comes first. Not a terminal: none of it.
TEST(Cli, ProgressOnATerminalFitsItsWidthAndNeverGluesToLogLines) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "needs script(1) for a terminal";
  TempDir d;
  write_text(d.path("c.json"), R"({"data": {"toy": {"task": "copy", "n_train": 300, "n_valid": 20, "min_len": 2,
    "max_len": 5, "vocab": 6}}, "model": {"emb": 8, "hidden": 8, "dec_hidden": 16},
    "train": {"max_steps": 250, "valid_every": 200, "log_every": 10}})");
  std::string cmd = std::string(ATTN_BINARY) + " train --config " + d.path("c.json") + " --run-dir " + d.path("run");
  // script(1) gives the command a pseudo-terminal (80 columns when it cannot tell) and records what it drew.
  ASSERT_EQ(std::system(("stty cols 60 2>/dev/null; script -qec 'stty cols 60; " + cmd + "' " + d.path("tty.txt") +
                         " >/dev/null 2>&1 </dev/null").c_str()),
            0);
  std::string tty = read_file(d.path("tty.txt"));
  ASSERT_NE(tty.find("step 1/250"), std::string::npos) << tty;
  int validations = 0;
  for (size_t p = tty.find("info: validation at step"); p != std::string::npos;
       p = tty.find("info: validation at step", p + 1)) {
    ++validations;
    size_t start = tty.rfind('[', p);  // the "[hh:mm:ss]" before it
    ASSERT_NE(start, std::string::npos);
    bool clean = start == 0 || tty[start - 1] == '\n' || (start >= 4 && tty.compare(start - 4, 4, "\r\033[K") == 0);
    EXPECT_TRUE(clean) << "glued to something: " << tty.substr(start >= 80 ? start - 80 : 0, 120);
  }
  EXPECT_EQ(validations, 2);
  // Every status drawn is at most 59 columns, and none promises a validation after the last step.
  for (size_t p = tty.find("\r\033[Kstep "); p != std::string::npos; p = tty.find("\r\033[Kstep ", p + 1)) {
    size_t end = tty.find_first_of("\r\n", p + 1);
    EXPECT_LE(end - p - 4, 59u) << tty.substr(p + 4, end - p - 4);
  }
  for (size_t p = tty.find("step 24"); p != std::string::npos; p = tty.find("step 24", p + 1)) {
    size_t v = tty.find("valid in ", p);
    if (v != std::string::npos && v - p < 80) EXPECT_LE(std::stoi(tty.substr(v + 9)), 10) << tty.substr(p, 80);
  }
  auto plain = run_attn("train --config " + d.path("c.json") + " --run-dir " + d.path("run2"));
  EXPECT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(plain.err.find("\033[K"), std::string::npos);
  EXPECT_EQ(plain.out.find("\033[K"), std::string::npos);
}

// A line longer than a location-attention model can read used to abort the
// whole run; now that line is cut with a warning naming it, the rest translate.
// n-best mode keeps empty input lines (as "INDEX |||  ||| 0.0000") instead of dropping them.
TEST(Cli, ALineTooLongForLocationAttentionIsCutAndNbestKeepsEmptyLines) {
  TempDir d;
  write_text(d.path("c.json"), R"({"data": {"toy": {"task": "copy", "n_train": 200, "n_valid": 10, "n_test": 10,
    "min_len": 2, "max_len": 5, "test_min_len": 2, "test_max_len": 5, "vocab": 6}, "max_src_len": 10},
    "model": {"type": "luong", "emb": 8, "hidden": 8, "dec_hidden": 16,
              "attention": {"score": "location", "max_src_len": 11}},
    "train": {"max_steps": 4, "valid_every": 4}})");
  auto t = run_attn("--log-level warn train --config " + d.path("c.json") + " --run-dir " + d.path("run"));
  ASSERT_EQ(t.code, 0) << t.err;
  std::string ck = d.path("run/checkpoints/last.ckpt");
  std::string long_line = "a b c d e a b c d e a b c d e";  // 15 tokens; the model reads 10
  auto r = run_attn("--log-level warn translate --checkpoint " + ck, "a b\n" + long_line + "\nc d\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(count(r.out, "\n"), 3) << r.out;
  EXPECT_NE(r.err.find("<stdin>:2: 15 tokens; this model reads at most 10"), std::string::npos) << r.err;
  auto nb = run_attn("--log-level warn translate --checkpoint " + ck + " --beam 2 --nbest 2", "a b\n\nc d\n");
  EXPECT_EQ(nb.code, 0) << nb.err;
  EXPECT_NE(nb.out.find("1 |||  ||| 0.0000\n"), std::string::npos) << nb.out;
  EXPECT_EQ(count(nb.out, "0 ||| "), 2) << nb.out;
  EXPECT_EQ(count(nb.out, "2 ||| "), 2) << nb.out;
}

TEST(Cli, DataHelpShowsDataExamples) {
  auto r = run_attn("data --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("attn data toy --task"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("attn compare --config"), std::string::npos) << "the top-level examples again";
}

namespace {

// attn with a pipe on each side, as another program would drive it.
class Piped {
 public:
  explicit Piped(const std::vector<std::string>& args) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0), dup2(out[1], 1);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 2);
      close(in[1]), close(out[0]);
      std::vector<char*> argv{const_cast<char*>(ATTN_BINARY)};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(ATTN_BINARY, argv.data());
      _exit(127);
    }
    close(in[0]), close(out[1]);
    to_ = in[1], from_ = out[0];
  }
  ~Piped() {
    if (to_ >= 0) close(to_);
    close(from_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  void send(const std::string& s) { ASSERT_EQ(write(to_, s.data(), s.size()), static_cast<ssize_t>(s.size())); }
  // One output line, or "<timeout>" after `secs` with nothing more.
  std::string line(double secs) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(secs);
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      pollfd p{from_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return "<timeout>";
      char c[4096];
      ssize_t n = read(from_, c, sizeof c);
      if (n <= 0) return "<eof>";
      buf_.append(c, static_cast<size_t>(n));
    }
  }
  int finish() {
    close(to_);
    to_ = -1;
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  std::string buf_;
};

}  // namespace

// translate behind a pipe answers each line while its input stays open
// (it used to wait for the end of input, so nothing came out).
TEST(Cli, TranslateAnswersEachLineWhileItsInputStaysOpen) {
  TempDir d;
  std::string ck = trained_checkpoint(d);
  auto whole = run_attn("translate --checkpoint " + ck, "a b c\n\nd e\n");
  ASSERT_EQ(whole.code, 0) << whole.err;
  std::vector<std::string> want;  // what a closed input gives, line by line
  for (size_t p = 0, q; (q = whole.out.find('\n', p)) != std::string::npos; p = q + 1)
    want.push_back(whole.out.substr(p, q - p));
  ASSERT_EQ(want.size(), 3u);
  for (const std::string mode : {"", "--beam 3 --nbest 2"}) {
    std::vector<std::string> args = {"translate", "--checkpoint", ck};
    for (const auto& a : split_ws(mode)) args.push_back(a);
    Piped p(args);
    p.send("a b c\n");
    std::string first = p.line(60);
    if (mode.empty()) EXPECT_EQ(first, want[0]);
    else EXPECT_EQ(first.rfind("0 ||| ", 0), 0u) << first;
    if (!mode.empty()) EXPECT_EQ(p.line(60).rfind("0 ||| ", 0), 0u);
    p.send("\nd e\n");  // two lines at once: decoded together, answered in order
    if (mode.empty()) {
      EXPECT_EQ(p.line(60), want[1]);
      EXPECT_EQ(p.line(60), want[2]);
    } else {
      EXPECT_EQ(p.line(60), "1 |||  ||| 0.0000");
      EXPECT_EQ(p.line(60).rfind("2 ||| ", 0), 0u);
    }
    EXPECT_EQ(p.finish(), 0);
  }
}

// A named pipe as --input (what <(command) gives) is a stream like stdin: each
// line is answered while the writer keeps the pipe open (it used to be read to its end first).
TEST(Cli, TranslateStreamsANamedPipeGivenAsInput) {
  TempDir d;
  std::string ck = trained_checkpoint(d);
  auto whole = run_attn("translate --checkpoint " + ck, "a b c\nd e\n");
  ASSERT_EQ(whole.code, 0) << whole.err;
  std::string fifo = d.path("in.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Piped p({"translate", "--checkpoint", ck, "--input", fifo});
  int w = open(fifo.c_str(), O_WRONLY);  // waits for attn to open its end
  ASSERT_GE(w, 0);
  ASSERT_EQ(write(w, "a b c\n", 6), 6);
  std::string first = p.line(60);
  ASSERT_EQ(write(w, "d e\n", 4), 4);
  std::string second = p.line(60);
  close(w);
  EXPECT_EQ(first + "\n" + second + "\n", whole.out);
  EXPECT_EQ(p.finish(), 0);
}

// A refused --dump-attention (a bottleneck has none) leaves no folder behind.
TEST(Cli, RefusedAttentionDumpCreatesNothing) {
  TempDir d;
  trained_checkpoint(d);
  ASSERT_EQ(run_attn("--log-level warn train --config " + d.path("c.json") + " --run-dir " + d.path("bn") +
                     " --set model.type=bottleneck")
                .code,
            0);
  auto r = run_attn("translate --checkpoint " + d.path("bn/checkpoints/last.ckpt") + " --dump-attention " +
                        d.path("dump/here") + " --output " + d.path("out/hyp.txt"),
                    "a b\n");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "error: --dump-attention: this bottleneck model has no attention\n");
  EXPECT_FALSE(std::filesystem::exists(d.path("dump")));
  EXPECT_FALSE(std::filesystem::exists(d.path("out")));
}

// evaluate --align refuses a gold link outside its sentence (it reported an AER).
TEST(Cli, EvaluateRefusesGoldLinksOutsideTheSentence) {
  TempDir d;
  std::string ck = trained_checkpoint(d);
  auto lines = read_lines(d.path("run/data/test.align"));
  lines[1] += " 0-40";
  write_text(d.path("bad.align"), join(lines, "\n") + "\n");
  auto r = run_attn("--log-level warn evaluate --checkpoint " + ck + " --src " + d.path("run/data/test.src") +
                    " --ref " + d.path("run/data/test.tgt") + " --align " + d.path("bad.align") + " --out " +
                    d.path("eval"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bad.align:2: link 0-40 is outside the sentence (target position 40"), std::string::npos)
      << r.err;
  EXPECT_EQ(count(r.err, "\n"), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(d.path("eval/metrics.json")));
}

// There is no GPU here and Debian's LibTorch has no CUDA: a CUDA request is
// refused with one line, before any work; a bad name too.
TEST(Cli, DeviceOptionRefusesCudaOnACpuBuildWithOneLine) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "this machine has CUDA: see Cli.TrainsAndTranslatesOnCuda";
  TempDir d;
  std::string ck = trained_checkpoint(d);
  for (const std::string cmd : {"translate --checkpoint " + ck, "train --config " + d.path("c.json") + " --run-dir " +
                                                                    d.path("gpu")}) {
    auto r = run_attn(cmd + " --device cuda", "a b\n");
    EXPECT_EQ(r.code, 2) << cmd;
    EXPECT_EQ(count(r.err, "\n"), 1) << r.err;
    EXPECT_NE(r.err.find("--device cuda: this attn was built with a LibTorch without CUDA"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_FALSE(std::filesystem::exists(d.path("gpu/checkpoints")));
  auto bad = run_attn("translate --checkpoint " + ck + " --device gpu0", "a\n");
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.err, "error: --device gpu0: expected cpu, cuda or cuda:N\n");
  write_text(d.path("nccl.json"), R"({"train": {"dist_backend": "nccl"}})");
  auto n = run_attn("config check " + d.path("nccl.json"));
  EXPECT_EQ(n.code, 2);
  EXPECT_NE(n.err.find("train.dist_backend: nccl runs on CUDA devices"), std::string::npos) << n.err;
  auto cpu = run_attn("translate --device cpu --checkpoint " + ck, "a b\n");
  EXPECT_EQ(cpu.code, 0) << cpu.err;
}

// The same on a machine with CUDA and a CUDA LibTorch (never run here).
TEST(Cli, TrainsAndTranslatesOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device or a CPU-only LibTorch (Debian's): not run here";
  TempDir d;
  trained_checkpoint(d);
  auto t = run_attn("--log-level warn train --config " + d.path("c.json") + " --run-dir " + d.path("gpu") +
                    " --device cuda");
  ASSERT_EQ(t.code, 0) << t.err;
  auto cpu = run_attn("translate --checkpoint " + d.path("gpu/checkpoints/last.ckpt"), "a b c\n");
  auto gpu = run_attn("translate --device cuda --checkpoint " + d.path("gpu/checkpoints/last.ckpt"), "a b c\n");
  EXPECT_EQ(gpu.code, 0) << gpu.err;
  EXPECT_EQ(cpu.out, gpu.out);
}

// The vocab.*.txt a run writes can be given to another run; a broken one is
// refused naming the file and line.
TEST(Cli, VocabularyFilesFromOneRunAreTheNextRunsVocabulary) {
  TempDir d;
  trained_checkpoint(d);
  // A file with extra words the second corpus never uses: they keep their ids.
  std::string src = read_text(d.path("run/vocab.src.txt")) + "zebra\n";
  write_text(d.path("src.txt"), src);
  auto r = run_attn("--log-level warn train --config " + d.path("c.json") + " --run-dir " + d.path("again") +
                    " --set data.src_vocab=" + d.path("src.txt") + " --set data.tgt_vocab=" +
                    d.path("run/vocab.tgt.txt"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_text(d.path("again/vocab.src.txt")), src);
  EXPECT_EQ(read_text(d.path("again/vocab.tgt.txt")), read_text(d.path("run/vocab.tgt.txt")));
  write_text(d.path("dup.txt"), "<pad>\n<unk>\n<s>\n</s>\nx\ny\nx\n");
  auto dup = run_attn("train --config " + d.path("c.json") + " --run-dir " + d.path("dup") + " --set data.src_vocab=" +
                      d.path("dup.txt"));
  EXPECT_EQ(dup.code, 1);
  EXPECT_NE(dup.err.find("error: " + d.path("dup.txt") + ":7: \"x\" is already on line 5"), std::string::npos)
      << dup.err;
  write_text(d.path("late.txt"), "x\n<pad>\n");
  auto late = run_attn("train --config " + d.path("c.json") + " --run-dir " + d.path("late") +
                       " --set data.src_vocab=" + d.path("late.txt"));
  EXPECT_NE(late.err.find(d.path("late.txt") + ":2: <pad> must be on line 1"), std::string::npos) << late.err;
}

// Tied embeddings through the CLI: trains and translates; sizes that cannot
// tie are config errors.
TEST(Cli, TiedEmbeddingsTrainAndMismatchedSizesAreConfigErrors) {
  TempDir d;
  trained_checkpoint(d);  // for its config
  auto r = run_attn("--log-level info train --config " + d.path("c.json") + " --run-dir " + d.path("tied") +
                    " --set model.tie_embeddings=all --set data.joint_vocab=true");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(run_attn("train --config " + d.path("c.json") + " --run-dir " + d.path("untied")).code, 0);
  auto untied = read_text(d.path("untied/train.log")), tied = read_text(d.path("tied/train.log"));
  auto params = [](const std::string& log) {
    size_t p = log.find(" parameters;");
    size_t b = log.rfind(": ", p);
    return std::stol(log.substr(b + 2, p - b - 2));
  };
  // Vocabulary 10 (6 symbols + 4 specials) x emb 8, twice: the decoder embedding and the output matrix.
  EXPECT_EQ(params(untied) - params(tied), 2 * 10 * 8) << tied;
  EXPECT_EQ(run_attn("translate --checkpoint " + d.path("tied/checkpoints/last.ckpt"), "a b\n").code, 0);
  write_text(d.path("bad.json"), R"({"model": {"type": "luong", "emb": 8, "dec_hidden": 16, "tie_embeddings": "all"}})");
  auto bad = run_attn("config check " + d.path("bad.json"));
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("model.tie_embeddings: the output layer reads dec_hidden = 16 features but the embedding "
                         "has emb = 8"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("\"all\" needs one vocabulary for both sides: set data.joint_vocab"), std::string::npos);
}
