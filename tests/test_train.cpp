// Training loop, checkpoints and exact resume.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/translator.h"
#include "config/registry.h"
#include "report/training_plots.h"
#include "test_util.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "util/text_file.h"

using namespace attn;
using attn::test::TempDir;

namespace {

Config toy_config(const std::string& dir) {
  json j = {{"data",
             {{"toy", {{"task", "reverse"}, {"n_train", 400}, {"n_valid", 40}, {"n_test", 40}, {"min_len", 3},
                       {"max_len", 8}, {"test_min_len", 3}, {"test_max_len", 10}, {"vocab", 8}, {"seed", 3}}},
              {"batch_size", 16}}},
            {"model", {{"type", "bahdanau"}, {"emb", 16}, {"hidden", 24}, {"dec_hidden", 32}, {"dropout", 0.2}}},
            {"train", {{"lr", 0.005}, {"max_steps", 40}, {"valid_every", 10}, {"seed", 5}, {"dump_sentences", 2}}},
            {"output", {{"run_dir", dir}}}};
  return config_from_json(j);
}

// A finished run of `steps` updates in `dir` (one validation at the end).
Config short_run(const std::string& dir, int steps) {
  Config c = toy_config(dir);
  c.train.max_steps = steps;
  c.train.valid_every = steps;
  TrainOptions o;
  o.run_dir = dir;
  train(c, o);
  return c;
}

std::vector<json> metrics(const std::string& dir) {
  std::vector<json> out;
  for (const auto& l : read_lines(dir + "/metrics.jsonl")) out.push_back(json::parse(l));
  return out;
}

}  // namespace

TEST(Trainer, ShortRunLowersValidationLossAndWritesFiles) {
  TempDir d;
  Config c = toy_config(d.path());
  TrainOptions o;
  o.run_dir = d.path();
  TrainResult r = train(c, o);
  EXPECT_EQ(r.steps, 40);
  EXPECT_FALSE(r.interrupted);
  auto m = metrics(d.path());
  ASSERT_EQ(m.size(), 4u);
  EXPECT_LT(m.back()["valid_loss"].get<double>(), m.front()["valid_loss"].get<double>());
  for (const char* key : {"step", "epoch", "lr", "train_loss", "tokens_per_sec", "wall_seconds", "validation_seconds", "valid_ppl", "valid_bleu",
                          "valid_chrf", "valid_token_accuracy", "attention_entropy", "attention_entropy_normalised",
                          "attention_entropy_bands"})
    EXPECT_TRUE(m.back().contains(key)) << key;
  for (const char* f : {"config.json", "summary.json", "valid_attention.jsonl", "checkpoints/last.ckpt",
                        "checkpoints/best.ckpt", "data/train.src", "data/test.align"})
    EXPECT_TRUE(std::filesystem::exists(d.path(f))) << f;
  EXPECT_EQ(read_lines(d.path("valid_attention.jsonl")).size(), 8u);  // 2 sentences x 4 validations
}

TEST(Trainer, StopAndResumeGivesTheSameMetrics) {
  TempDir a, b;
  TrainOptions oa;
  oa.run_dir = a.path();
  train(toy_config(a.path()), oa);

  TrainOptions ob;
  ob.run_dir = b.path();
  ob.stop_at_step = 25;  // between validations, mid-epoch
  TrainResult first = train(toy_config(b.path()), ob);
  EXPECT_TRUE(first.interrupted);
  EXPECT_EQ(first.steps, 25);
  ob.stop_at_step = 0;
  ob.resume = true;
  TrainResult second = train(toy_config(b.path()), ob);
  EXPECT_EQ(second.steps, 40);

  auto ma = metrics(a.path()), mb = metrics(b.path());
  ASSERT_EQ(ma.size(), mb.size());
  for (size_t i = 0; i < ma.size(); ++i)
    for (auto it = ma[i].begin(); it != ma[i].end(); ++it) {
      if (it.key() == "tokens_per_sec" || it.key() == "model_gflops_per_sec" || it.key() == "wall_seconds" ||
          it.key() == "validation_seconds")
        continue;  // rates and times
      EXPECT_EQ(it.value(), mb[i][it.key()]) << "line " << i << " key " << it.key();
    }
}

// A model in memory, saved and loaded: every parameter comes back, and the
// loaded one is not what a fresh model of that config would be.
TEST(Checkpoint, RoundTripGivesTheSameModel) {
  TempDir d;
  short_run(d.path(), 5);
  Checkpoint a = load_checkpoint(d.path("checkpoints/last.ckpt"));
  EXPECT_EQ(a.config.model.hidden, 24);
  EXPECT_EQ(a.text.src_vocab.size(), 12);
  EXPECT_EQ(a.trainer_state["step"], 5);
  // Change the model in memory, so a save that wrote something else (or
  // nothing) cannot come back equal to it.
  {
    torch::NoGradGuard ng;
    for (auto& p : a.model->parameters()) p.add_(0.125);
  }
  save_checkpoint(d.path("again.ckpt"), *a.model, nullptr, a.config, a.text, {{"step", 6}});
  Checkpoint b = load_checkpoint(d.path("again.ckpt"));
  Seq2Seq fresh(a.config.model, a.text.src_vocab.size(), a.text.tgt_vocab.size());
  auto pa = a.model->named_parameters(), pb = b.model->named_parameters(), pf = fresh->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) {
    EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
    EXPECT_FALSE(torch::equal(p.value(), pf[p.key()])) << p.key();
  }
  EXPECT_EQ(b.trainer_state["step"], 6);
  EXPECT_EQ(b.text.tgt_vocab.tokens(), a.text.tgt_vocab.tokens());
}

TEST(Checkpoint, CorruptedOrTruncatedFilesAreRefused) {
  TempDir d;
  short_run(d.path(), 2);
  std::string good = read_file(d.path("checkpoints/last.ckpt"));
  attn::test::write_text(d.path("half.ckpt"), good.substr(0, good.size() / 2));
  attn::test::write_text(d.path("junk.ckpt"), "definitely not a checkpoint");
  for (const char* f : {"half.ckpt", "junk.ckpt", "missing.ckpt"}) {
    try {
      load_checkpoint(d.path(f));
      ADD_FAILURE() << f << " was accepted";
    } catch (const CheckpointError& e) {
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
    }
  }
}

TEST(Checkpoint, ResumeWithAnotherArchitectureOrVocabularyIsRefused) {
  TempDir d;
  Config c = short_run(d.path(), 2);
  TrainOptions o;
  o.run_dir = d.path();
  o.resume = true;
  Config other = c;
  other.model.hidden = 48;
  try {
    train(other, o);
    FAIL() << "accepted";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("model.hidden: checkpoint has 24, config has 48"), std::string::npos) << e.what();
  }
  Config vocab = c;
  vocab.data.vocab_max_size = 6;
  EXPECT_THROW(train(vocab, o), CheckpointError);
}

TEST(Trainer, EarlyStoppingWorksWithoutKeptCheckpoints) {
  TempDir d;
  Config c = toy_config(d.path());
  c.train.lr = 0.0;  // nothing improves after the first validation
  c.train.keep_best = 0;
  c.train.patience = 2;
  c.train.metric = "loss";
  c.train.max_steps = 1000;
  TrainOptions o;
  o.run_dir = d.path();
  TrainResult r = train(c, o);
  EXPECT_TRUE(r.early_stopped);
  EXPECT_EQ(r.steps, 30);  // validations at 10 (best), 20 and 30 (no better)
  EXPECT_FALSE(std::filesystem::exists(d.path("checkpoints/best.ckpt")));
}

TEST(Trainer, TrainLossAtEveryLogStepAndTrainingPlotsInTheRunDirectory) {
  TempDir d;
  Config c = toy_config(d.path());
  c.train.log_every = 3;  // log steps 3, 6, 9 before the validation at 10; 12 ... 18 before 20
  c.train.max_steps = 20;
  TrainOptions o;
  o.run_dir = d.path();
  train(c, o);
  auto m = metrics(d.path());
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0]["format"], "attn.metrics/3");
  EXPECT_EQ(m[0]["train_loss_curve"]["step"], json({3, 6, 9}));
  EXPECT_EQ(m[1]["train_loss_curve"]["step"], json({12, 15, 18}));
  for (const auto& l : m[1]["train_loss_curve"]["train_loss"]) EXPECT_GT(l.get<double>(), 0.0);
  // The curves the plots read: train loss at the six log steps, validation loss and entropy at 10 and 20.
  TrainingCurves tc = read_training_curves(d.path("metrics.jsonl"));
  EXPECT_EQ(tc.train_loss.x, (std::vector<double>{3, 6, 9, 12, 15, 18}));
  EXPECT_EQ(tc.valid_loss.x, (std::vector<double>{10, 20}));
  EXPECT_EQ(tc.entropy.y.size(), 2u);
  EXPECT_EQ(tc.bands.size(), 4u);
  ASSERT_NE(tc.metric("exact match"), nullptr);
  EXPECT_EQ(tc.metric("exact match")->x, (std::vector<double>{10, 20}));
  ASSERT_NE(tc.metric("BLEU / 100"), nullptr);
  EXPECT_LE(tc.metric("BLEU / 100")->y.back(), 1.0);  // BLEU / 100, on the same 0-1 axis
  EXPECT_NE(tc.metric("token accuracy"), nullptr);  // exact match, token accuracy, BLEU / 100: as before the registry
  for (const char* f : {"loss.svg", "valid_scores.svg", "entropy.svg", "entropy_bands.svg", "valid_attention.html"})
    EXPECT_TRUE(std::filesystem::exists(d.path(f))) << f;
  // Two tracked sentences (dump_sentences), each drawn at both validations.
  std::string html = read_file(d.path("valid_attention.html"));
  EXPECT_NE(html.find("validation sentence #0"), std::string::npos);
  EXPECT_NE(html.find("validation sentence #1"), std::string::npos);
  size_t maps = 0;
  for (size_t p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1)) ++maps;
  EXPECT_EQ(maps, 4u);
  EXPECT_NE(html.find("update 20"), std::string::npos);
}

// metrics.jsonl counts epochs from 1, as the log does, and its lr is the one
// the updates before the validation used (it showed the value a plateau
// schedule had just lowered for the updates after).
TEST(Trainer, MetricsEpochCountsFromOneAndLrIsTheOneUsed) {
  TempDir d;
  Config c = toy_config(d.path());
  c.train.lr = 1e-9;  // exact match stays 0: no validation after the first is better
  c.train.metric = "exact_match";
  c.train.schedule = "plateau";
  c.train.decay_patience = 0;  // lowered at the first validation that is not better
  c.train.decay_factor = 0.5;
  c.train.min_lr = 0;
  c.train.max_steps = 30;
  TrainOptions o;
  o.run_dir = d.path();
  train(c, o);
  auto m = metrics(d.path());
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0]["epoch"], 1);  // step 10 of 25 batches per epoch
  EXPECT_DOUBLE_EQ(m[0]["lr"].get<double>(), 1e-9);
  EXPECT_DOUBLE_EQ(m[1]["lr"].get<double>(), 1e-9);  // lowered at this validation, for the updates after it
  EXPECT_DOUBLE_EQ(m[2]["lr"].get<double>(), 5e-10);
}

namespace {
std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}
// "INDEX ||| TEXT ||| SCORE" lines: texts exactly, scores to 2e-3 (another
// CPU's BLAS may round the fourth decimal the other way).
void expect_same_nbest(const std::string& got, const std::string& want, const std::string& what) {
  auto g = split_lines(got), w = split_lines(want);
  ASSERT_EQ(g.size(), w.size()) << what;
  for (size_t i = 0; i < g.size(); ++i) {
    const size_t gs = g[i].rfind(" ||| "), ws = w[i].rfind(" ||| ");
    ASSERT_NE(gs, std::string::npos) << what;
    EXPECT_EQ(g[i].substr(0, gs), w[i].substr(0, ws)) << what << " line " << i;
    EXPECT_NEAR(std::stod(g[i].substr(gs + 5)), std::stod(w[i].substr(ws + 5)), 2e-3) << what << " line " << i;
  }
}
}  // namespace

// Checkpoints committed as fixtures (tests/fixtures/checkpoints/make.sh, one
// set per format) load with today's code and translate as they did then.
TEST(Checkpoint, FixturesOfEarlierVersionsStillLoadAndTranslateTheSame) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(test::source_dir()) / "tests/fixtures/checkpoints";
  int seen = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".ckpt") continue;
    ++seen;
    const std::string stem = e.path().string().substr(0, e.path().string().size() - 5);  // PREFIX-MODEL
    const std::string prefix = stem.substr(0, stem.rfind('-'));
    TranslationModel m = load_translation_model({e.path().string()}, torch::kCPU);
    std::vector<std::string> lines = read_lines(prefix + ".src");
    TranslateOptions o;
    o.search = search_options(m.first().config.decode);
    Translator greedy(m, o, "fixture");
    EXPECT_EQ(greedy.translate(lines, 0), read_file(stem + ".greedy")) << e.path();
    o.search.beam = 3, o.search.nbest = 2;
    Translator beam(m, o, "fixture");
    expect_same_nbest(beam.translate(lines, 0), read_file(stem + ".beam3"), e.path().string());
  }
  EXPECT_GE(seen, 3);  // bahdanau, luong, bottleneck of the first format at least
}

// A rule added after a checkpoint was written does not make it unloadable;
// keys of other versions are warnings; only a model it cannot build is refused.
TEST(Checkpoint, StoredConfigOutlivesChangedRules) {
  const std::string fixture = test::source_dir() + "/tests/fixtures/checkpoints/2026-12-bahdanau.ckpt";
  // A new cross-field rule on the fixture's own score: a new config is refused, the checkpoint still loads.
  const AttentionScore saved = *find_score("additive");
  AttentionScore stricter = saved;
  stricter.check = [](const ModelConfig&, const DataConfig&) { return std::string("score: a rule of a later version"); };
  register_score(stricter);
  Checkpoint ck = load_checkpoint(fixture, torch::kCPU);
  EXPECT_THROW(config_from_json(config_to_json(ck.config)), ConfigError);
  EXPECT_NO_THROW(load_checkpoint(fixture, torch::kCPU));
  register_score(saved);

  json stored = config_to_json(ck.config);
  stored["train"]["guided_alignment"] = 0.5;   // a newer version's key
  stored["model"]["cgru"] = true;              // the same in the model section
  stored["decode"]["beam"] = 100000;           // a range a later rule narrowed
  stored["forced"] = json::object();           // a newer section
  std::vector<std::string> warnings;
  Config c = config_from_stored_json(stored, warnings);
  EXPECT_EQ(warnings.size(), 4u);
  EXPECT_TRUE(test::any_contains(warnings, "train.guided_alignment: unknown key"));
  EXPECT_TRUE(test::any_contains(warnings, "decode.beam: 100000 is out of range"));
  EXPECT_EQ(c.decode.beam, DecodeConfig{}.beam);  // the default where the stored value is refused
  EXPECT_EQ(c.model.hidden, ck.config.model.hidden);
  EXPECT_THROW(config_from_json(stored), ConfigError);  // a new config is held to every rule
  stored["model"]["type"] = "conditional-gru";
  warnings.clear();
  EXPECT_THROW(config_from_stored_json(stored, warnings), ConfigError);
}
