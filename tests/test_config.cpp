// Config parsing and validation: every rule, all problems at once, paths.
#include <gtest/gtest.h>

#include "config/config.h"
#include "test_util.h"

using namespace attn;

namespace {

std::vector<std::string> problems(const json& j) { return test::config_problems(j); }
bool has(const std::vector<std::string>& v, const std::string& needle) { return test::any_contains(v, needle); }

}  // namespace

TEST(Config, DefaultsAreValidAndRoundTrip) {
  Config c = config_from_json(json::object());
  EXPECT_EQ(c.model.type, "bahdanau");
  json j = config_to_json(c);
  EXPECT_EQ(config_to_json(config_from_json(j)), j);
}

TEST(Config, AnnotatedDefaultsParseBackToDefaults) {
  std::string text = annotated_defaults();
  EXPECT_NE(text.find("// "), std::string::npos);
  json j = json::parse(text, nullptr, true, true);
  EXPECT_EQ(config_to_json(config_from_json(j)), config_to_json(Config{}));
}

TEST(Config, ReportsAllMistakesWithPaths) {
  json j = json::parse(R"({"model": {"attention": {"score": "luong-gneral"}, "hiden": 5},
                           "train": {"lr": "fast", "max_steps": -3}})");
  auto p = problems(j);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_TRUE(has(p, "model.attention.score: \"luong-gneral\" is not one of additive, dot, general"));
  EXPECT_TRUE(has(p, "(did you mean \"general\"?)"));
  EXPECT_TRUE(has(p, "model.hiden: unknown key (did you mean \"hidden\"?)"));
  EXPECT_TRUE(has(p, "train.lr: expected a number, got \"fast\""));
  EXPECT_TRUE(has(p, "train.max_steps: -3 is out of range"));
}

TEST(Config, TypeRules) {
  EXPECT_TRUE(has(problems({{"model", {{"emb", 1.5}}}}), "model.emb: expected an integer"));
  EXPECT_TRUE(has(problems({{"data", {{"skip_empty", "yes"}}}}), "data.skip_empty: expected true or false"));
  EXPECT_TRUE(has(problems({{"data", {{"train_src", 3}}}}), "data.train_src: expected a string"));
  EXPECT_TRUE(has(problems({{"model", {{"attention", 3}}}}), "model.attention: expected an object"));
  EXPECT_TRUE(has(problems({{"modle", json::object()}}), "modle: unknown section"));
  EXPECT_TRUE(has(problems({{"model", 1}}), "model: expected an object"));
  EXPECT_TRUE(has(problems(json::array()), "expected a JSON object"));
  EXPECT_TRUE(has(problems({{"decode", {{"beam", 0}}}}), "decode.beam: 0 is out of range [1, 1000]"));
}

TEST(Config, CrossFieldRules) {
  EXPECT_TRUE(has(problems({{"model", {{"type", "bahdanau"}, {"attention", {{"score", "dot"}}}}}}),
                  "the bahdanau decoder takes additive, concat; \"dot\" (Luong dot: q . h) is for model.type luong"));
  EXPECT_TRUE(has(problems({{"model", {{"type", "luong"}, {"hidden", 10}, {"dec_hidden", 30}, {"attention", {{"score", "dot"}}}}}}),
                  "\"dot\" needs dec_hidden (30) == 2 * hidden (20)"));
  EXPECT_TRUE(has(problems({{"model", {{"type", "luong"}, {"attention", {{"score", "general"}, {"coverage", true}}}}}}),
                  "coverage: supported by model.type bahdanau only"));
  EXPECT_TRUE(has(problems({{"model", {{"type", "luong"}, {"attention", {{"score", "location"}, {"max_src_len", 10}}}}}}),
                  "max_src_len: 10 is shorter"));
  EXPECT_TRUE(has(problems({{"model", {{"maxout", true}, {"readout", 7}}}}), "needs an even readout size"));
  EXPECT_TRUE(has(problems({{"decode", {{"beam", 2}, {"nbest", 3}}}}), "decode.nbest: 3 is larger than decode.beam 2"));
  EXPECT_TRUE(has(problems({{"train", {{"max_steps", 0}}}}), "no stopping rule"));
  EXPECT_TRUE(has(problems({{"train", {{"max_steps", 0}, {"max_epochs", 3}, {"schedule", "linear"}}}}),
                  "linear decays over a budget"));
  EXPECT_TRUE(has(problems({{"train", {{"schedule", "linear"}, {"lr", 0.001}, {"min_lr", 0.01}}}}),
                  "min_lr must not exceed lr"));
  EXPECT_TRUE(problems({{"train", {{"schedule", "linear"}, {"max_minutes", 60}}}}).empty());
  EXPECT_TRUE(has(problems({{"data", {{"train_src", "a"}}}}), "give both or neither"));
  EXPECT_TRUE(has(problems({{"data", {{"toy", {{"task", "copy"}, {"min_len", 9}, {"max_len", 3}}}}}}),
                  "data.toy.min_len: 9 is greater than max_len 3"));
  EXPECT_TRUE(has(problems({{"data", {{"toy", {{"task", "copy"}}}, {"tokenizer", "spm"}}}}), "toy tasks use"));
}

TEST(Config, CompareSection) {
  json j = {{"compare", {{"models", {{{"name", "a"}, {"model", {{"type", "bottleneck"}}}},
                                     {{"name", "a"}, {"model", {{"typo", 1}}}}}},
                         {"paralel", 2}}}};
  auto p = problems(j);
  EXPECT_TRUE(has(p, "compare.paralel: unknown key (did you mean \"parallel\"?)"));
  EXPECT_TRUE(has(p, "\"a\" is used twice"));
  Config ok = config_from_json({{"compare", {{"models", {{{"name", "b"}, {"model", {{"type", "luong"}, {"hidden", 32}}}}}}}}});
  ModelConfig m = compare_model(ok, ok.compare.models[0]);
  EXPECT_EQ(m.type, "luong");
  EXPECT_EQ(m.hidden, 32);
  EXPECT_EQ(m.emb, ok.model.emb);  // the rest from the base model
}

TEST(Config, Overrides) {
  json j = json::object();
  apply_overrides(j, {"model.hidden=32", "model.type=luong", "train.lr=0.5", "data.toy.task=copy"});
  Config c = config_from_json(j);
  EXPECT_EQ(c.model.hidden, 32);
  EXPECT_EQ(c.model.type, "luong");
  EXPECT_DOUBLE_EQ(c.train.lr, 0.5);
  EXPECT_EQ(c.data.toy.task, "copy");
  EXPECT_THROW(apply_overrides(j, {"novalue"}), ConfigError);
}

TEST(Config, FileErrorsNameTheFileAndLine) {
  attn::test::TempDir d;
  attn::test::write_text(d.path("bad.json"), "{\n  \"model\": {\n    \"emb\": ,\n  }\n}\n");
  try {
    load_config(d.path("bad.json"));
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(e.problems()[0].find("bad.json:3:"), std::string::npos) << e.problems()[0];
  }
  EXPECT_THROW(load_config(d.path("missing.json")), ConfigError);
  attn::test::write_text(d.path("typo.json"), "// comment\n{\"model\": {\"tpye\": \"luong\"}}");
  try {
    load_config(d.path("typo.json"));
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(e.problems()[0].find("typo.json: model.tpye: unknown key"), std::string::npos) << e.problems()[0];
  }
}

// nlohmann's own errors would be raw ("[json.exception.out_of_range.406] ...")
// or silent (a repeated key: the last wins). Both name the file and the place.
TEST(Config, HugeNumbersAndRepeatedKeysAreConfigErrors) {
  attn::test::TempDir d;
  auto problem = [&](const std::string& text) {
    attn::test::write_text(d.path("c.json"), text);
    try {
      load_config(d.path("c.json"));
    } catch (const ConfigError& e) {
      return e.problems().front();
    }
    return std::string("no error");
  };
  std::string big = problem("{\"train\": {\n  \"lr\": 1e400}}");
  EXPECT_NE(big.find("c.json:2:9: number 1e400 is too large for a double"), std::string::npos) << big;
  std::string twice = problem("{\"train\": {\"lr\": 0.01, \"lr\": 5}}");
  EXPECT_NE(twice.find("c.json: train.lr: given twice"), std::string::npos) << twice;
  std::string nested = problem(R"({"compare": {"models": [{"name": "a"}, {"name": "b", "model": {}, "name": "c"}]}})");
  EXPECT_NE(nested.find("compare.models[1].name: given twice"), std::string::npos) << nested;
  // The same key in different objects is no repetition.
  EXPECT_EQ(problem(R"({"data": {"max_src_len": 50}, "model": {"attention": {"max_src_len": 50}}})"), "no error");
}

TEST(Config, DidYouMean) {
  EXPECT_EQ(did_you_mean("gneral", {"dot", "general"}), "general");
  EXPECT_EQ(did_you_mean("zzzzzz", {"dot", "general"}), "");
}

// Cross-field rules were checked only once every single field was right, so
// fixing one mistake revealed the next. A rule about a field that is itself
// wrong is left out (it would judge a default).
TEST(Config, CrossFieldMistakesAreReportedWithTheOthersAtOnce) {
  auto p = problems(json::parse(R"({"model": {"hiden": 5, "type": "bahdanau", "attention": {"score": "dot"}},
    "data": {"toy": {"task": "copy", "min_len": 9, "max_len": 3}}, "decode": {"beam": 2, "nbest": 3}})"));
  EXPECT_TRUE(has(p, "model.hiden: unknown key"));
  EXPECT_TRUE(has(p, "data.toy.min_len: 9 is greater than max_len 3"));
  EXPECT_TRUE(has(p, "the bahdanau decoder takes additive, concat; \"dot\" (Luong dot: q . h) is for model.type luong"));
  EXPECT_TRUE(has(p, "decode.nbest: 3 is larger than decode.beam 2"));
  EXPECT_EQ(p.size(), 4u);
  auto q = problems(json::parse(R"({"decode": {"beam": "two", "nbest": 3}})"));
  EXPECT_TRUE(has(q, "decode.beam: expected an integer"));
  EXPECT_FALSE(has(q, "larger than decode.beam")) << "judged the default beam";
}

// Adadelta at Adam's 0.001 does not learn: each optimiser has its own default.
TEST(Config, EachOptimiserHasItsOwnDefaultLearningRate) {
  EXPECT_DOUBLE_EQ(config_from_json(json::object()).train.lr, 1e-3);
  EXPECT_DOUBLE_EQ(config_from_json({{"train", {{"optimizer", "adadelta"}}}}).train.lr, 1.0);
  EXPECT_DOUBLE_EQ(config_from_json({{"train", {{"optimizer", "sgd"}}}}).train.lr, 0.1);
  EXPECT_DOUBLE_EQ(config_from_json({{"train", {{"optimizer", "adadelta"}, {"lr", 0.5}}}}).train.lr, 0.5);
  EXPECT_NE(annotated_defaults().find("adadelta 1.0"), std::string::npos);
}

TEST(Config, AnnotatedDefaultsDescribeTheCompareSection) {
  std::string text = annotated_defaults();
  EXPECT_NE(text.find("\"compare\": {"), std::string::npos) << text;
  EXPECT_NE(text.find("\"parallel\": 1"), std::string::npos);
  json j = json::parse(text, nullptr, true, true);
  EXPECT_EQ(config_from_json(j).compare.parallel, 1);
}
