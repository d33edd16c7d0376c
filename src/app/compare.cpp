#include "app/compare.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "data/pipeline.h"
#include "eval/model_eval.h"
#include "report/compare_report.h"
#include "train/checkpoint.h"
#include "util/errors.h"
#include "util/text_file.h"

namespace fs = std::filesystem;

namespace attn {

std::vector<CompareModel> default_compare_models() {
  return {{"bottleneck", {{"type", "bottleneck"}}},
          {"bahdanau", {{"type", "bahdanau"}, {"attention", {{"score", "additive"}}}}},
          {"luong-general", {{"type", "luong"}, {"input_feeding", true}, {"attention", {{"score", "general"}}}}}};
}

ComparePlan plan_compare(const Config& c0, const std::string& out_dir) {
  ComparePlan p;
  p.out_dir = out_dir;
  p.base = materialise_toy_data(c0, out_dir);
  p.toy = p.base.data.toy;        // for the report's description of the task
  p.base.data.toy.task.clear();  // models read the files written once above
  if (p.base.data.test_src.empty())
    throw ConfigError({"data.test_src: compare needs a test set (or data.toy.task)"});
  auto entries = c0.compare.models.empty() ? default_compare_models() : c0.compare.models;
  for (const auto& e : entries) {
    ComparePlan::Entry en;
    en.name = e.name;
    en.config = p.base;
    en.config.model = compare_model(c0, e);
    en.config.compare = {};
    en.config.output.run_dir = (fs::path(out_dir) / "models" / e.name).string();
    fs::create_directories(en.config.output.run_dir);
    write_file_atomic(en.config.output.run_dir + "/train_config.json", config_to_json(en.config).dump(2) + "\n");
    p.models.push_back(en);
  }
  return p;
}

json finish_compare(const ComparePlan& plan) {
  const Config& base = plan.base;
  json results = {{"out_dir", plan.out_dir}, {"models", json::array()}};
  std::vector<ModelResult> models;
  for (const auto& e : plan.models) {
    std::string run = e.config.output.run_dir;
    std::string summary_path = run + "/summary.json";
    if (!fs::exists(summary_path)) throw std::runtime_error(summary_path + ": model " + e.name + " did not finish training");
    json summary = json::parse(read_file(summary_path));
    std::string ck_path = fs::exists(run + "/checkpoints/best.ckpt") ? run + "/checkpoints/best.ckpt"
                                                                     : run + "/checkpoints/last.ckpt";
    Checkpoint ck = load_checkpoint(ck_path);
    Corpus test = load_corpus(base.data.test_src, base.data.test_tgt, ck.text, true, 0, 0);
    std::vector<GoldAlignment> gold;
    if (!base.data.test_align.empty()) gold = read_gold_alignments(base.data.test_align, test.examples);
    EvalOptions eo;
    eo.search.beam = 1;
    eo.search.max_len_ratio = base.decode.max_len_ratio;
    eo.search.max_len_add = base.decode.max_len_add;
    eo.batch_size = base.decode.batch_size;
    spdlog::info("evaluating {} on {} test sentences", e.name, test.size());
    EvalReport rep = evaluate_model(*ck.model, ck.text, test, gold.empty() ? nullptr : &gold, eo);
    ModelResult m;
    m.name = e.name;
    m.config = e.config;
    m.summary = summary;
    m.test = rep.metrics;
    m.records = std::move(rep.records);
    m.references = test.tgt_tokens;
    m.checkpoint = fs::path(ck_path).filename().string();
    m.checkpoint_step = ck.trainer_state.value("step", int64_t{0});
    m.metrics_path = run + "/metrics.jsonl";
    write_alignments_jsonl(run + "/test_alignments.jsonl",
                           ck.model->decoder->has_attention() ? m.records : std::vector<AttentionRecord>{});
    models.push_back(std::move(m));
  }
  Config described = base;
  described.data.toy = plan.toy;  // the report says which task the files hold
  return write_compare_report(plan.out_dir, described, models);
}

}  // namespace attn
