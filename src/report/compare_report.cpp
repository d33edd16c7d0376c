#include "report/compare_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "config/registry.h"
#include "report/compare_page.h"
#include "report/svg.h"
#include "report/training_plots.h"
#include "util/text_file.h"

namespace attn {

using json = nlohmann::json;

namespace {

std::string f2(double v, int p = 2) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", p, v);
  return b;
}

// What a toy task asks, in a few words.
std::string toy_task_meaning(const std::string& task) {
  if (task == "copy") return "output the source unchanged";
  if (task == "reverse") return "output the source symbols in reverse order";
  if (task == "sort") return "output the source symbols sorted";
  if (task == "toy-translate")
    return "a tiny language pair: adjectives move behind nouns, compounds split, idioms merge, articles appear";
  return task;
}

// Midpoint of a "11-20" bucket, for plotting.
double bucket_mid(const std::string& k) {
  auto d = k.find('-');
  return (std::stod(k.substr(0, d)) + std::stod(k.substr(d + 1))) / 2.0;
}

}  // namespace

json entropy_over_training(const std::string& path) {
  json out = json::array();
  if (!std::filesystem::exists(path)) return out;
  for (const auto& line : read_lines(path)) {
    if (line.empty()) continue;
    json j = json::parse(line);
    if (j.contains("attention_entropy"))
      out.push_back({{"step", j["step"]},
                     {"mean", j["attention_entropy"]},
                     {"mean_normalised", j["attention_entropy_normalised"]}});
  }
  return out;
}

json write_compare_report(const std::string& dir, const Config& base, const std::vector<ModelResult>& models) {
  json results = {{"format", "attn.compare/2"}, {"models", json::array()}, {"test_src", base.data.test_src}};
  json entropy = json::object();
  std::vector<Series> acc_series, bleu_series, valid_loss, entropy_steps, entropy_len;
  std::vector<std::pair<double, std::string>> length_ticks;  // bucket centres, "11-20 (200)": range and sentences
  std::vector<PageModel> page;
  for (const auto& m : models) {
    json r = {{"name", m.name},
              {"type", m.config.model.type},
              {"attention", attention_name(m.config.model)},
              {"parameters", m.summary.value("parameters", 0)},
              {"train_steps", m.summary.value("steps", 0)},
              {"train_seconds", m.summary.value("train_seconds", 0.0)},
              {"tokens_per_sec", m.summary.value("tokens_per_sec", 0.0)},
              {"checkpoint", m.checkpoint},
              {"checkpoint_step", m.checkpoint_step},
              {"test", m.test}};
    results["models"].push_back(r);
    Series acc{m.name, {}, {}}, bl{m.name, {}, {}};
    if (length_ticks.empty())  // the same test set for every model
      for (const auto& b : m.test["by_source_length"])
        length_ticks.emplace_back(bucket_mid(b["src_len"].get<std::string>()),
                                  b["src_len"].get<std::string>() + " (" + std::to_string(b["sentences"].get<int>()) + ")");
    for (const auto& b : m.test["by_source_length"]) {
      double x = bucket_mid(b["src_len"].get<std::string>());
      acc.x.push_back(x);
      acc.y.push_back(b["exact_match"].get<double>());
      bl.x.push_back(x);
      bl.y.push_back(b["bleu"].get<double>());
    }
    acc_series.push_back(acc);
    bleu_series.push_back(bl);
    // Training dynamics side by side: each model's own curves under its name.
    TrainingCurves tc = read_training_curves(m.metrics_path);
    tc.valid_loss.name = tc.entropy.name = m.name;
    if (!tc.valid_loss.x.empty()) valid_loss.push_back(tc.valid_loss);
    if (!tc.entropy.x.empty()) entropy_steps.push_back(tc.entropy);
    if (m.test.contains("attention_entropy")) {
      Series el{m.name, {}, {}};
      for (const auto& b : m.test["attention_entropy"]["by_source_length"]) {
        el.x.push_back(bucket_mid(b["src_len"].get<std::string>()));
        el.y.push_back(b["mean"].get<double>());
      }
      entropy_len.push_back(el);
    }
    if (m.test.contains("attention_entropy")) {
      json e = m.test["attention_entropy"];
      e["over_training"] = entropy_over_training(m.metrics_path);
      entropy[m.name] = e;
    }
    page.push_back({m.name, model_summary(m.config.model), m.records});
  }
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  write_file_atomic(dir + "/results.json", results.dump(2) + "\n");
  write_file_atomic(dir + "/entropy.json", entropy.dump(2) + "\n");
  write_file_atomic(dir + "/accuracy_vs_length.svg",
                    line_plot_svg("Exact match vs source length (test)", "source length (sentences)", "exact match",
                                  acc_series, 0.0, 1.0, length_ticks));
  write_file_atomic(dir + "/bleu_vs_length.svg",
                    line_plot_svg("BLEU vs source length (test)", "source length (sentences)", "BLEU", bleu_series, 0.0,
                                  100.0, length_ticks));
  write_file_atomic(dir + "/loss_over_training.svg",
                    line_plot_svg("Validation loss over training", "update", "loss (nats per token)", valid_loss, 0.0,
                                  plot_top(valid_loss, 0.1)));
  write_file_atomic(dir + "/entropy_over_training.svg",
                    line_plot_svg("Mean attention entropy on validation over training", "update", "H (nats)",
                                  entropy_steps, 0.0, plot_top(entropy_steps, 0.1)));
  write_file_atomic(dir + "/entropy_vs_length.svg",
                    line_plot_svg("Mean attention entropy vs source length (test, greedy)", "source length (sentences)",
                                  "H (nats)", entropy_len, 0.0, plot_top(entropy_len, 0.1), length_ticks));
  // One row per sentence, the models side by side (every model decodes the same test corpus).
  const auto& refs = models.empty() ? std::vector<std::vector<std::string>>{} : models.front().references;
  std::vector<size_t> show = pick_comparison_sentences(page, refs, base.output.dump_attention);
  write_file_atomic(dir + "/attention.html",
                    comparison_html("attn compare: test sentences of " + base.data.test_src + ", greedy", page, refs,
                                    show, base.output.attention_scale));
  for (const auto& m : page)
    for (size_t i : show)
      if (i < m.records.size() && m.records[i].weights.defined() && m.records[i].weights.numel() > 0)
        write_file_atomic(dir + "/svg/" + m.name + "-" + std::to_string(i) + ".svg",
                          heatmap_svg(m.records[i], m.name + " (" + m.summary + ") #" + std::to_string(i),
                                      base.output.attention_scale));

  // report.md: readable without knowing attn.
  const auto& t = base.data.toy;
  const auto& tr = base.train;
  std::ostringstream md;
  md << "# attn compare\n\n";
  if (!t.task.empty())
    md << "**Task**: the synthetic `" << t.task << "` task (" << toy_task_meaning(t.task) << "): " << t.n_train
       << " training pairs with sources of " << t.min_len << "-" << t.max_len << " symbols, " << t.n_test
       << " test sentences of " << t.test_min_len << "-" << t.test_max_len << " (none seen in training), "
       << t.vocab << " symbols.\n\n";
  else
    md << "**Data**: trained on `" << base.data.train_src << "` / `" << base.data.train_tgt << "`, tested on `"
       << base.data.test_src << "`.\n\n";
  md << "**Budget**: every model trains with the same data, optimiser (" << tr.optimizer << ", lr " << tr.lr
     << ") and budget: at most " << tr.max_steps << " updates of " << base.data.batch_size << " sentences"
     << (tr.max_minutes > 0 ? ", and at most " + f2(tr.max_minutes, 0) + " minutes" : std::string()) << ", validated every "
     << tr.valid_every << " updates.\n\n"
     << "**Which checkpoint is scored**: each model's best checkpoint by validation " << tr.metric
     << " (the `scored` column gives its update; a model may have trained past it without improving).\n\n"
     << "**Decoding**: greedy, at most " << base.decode.max_len_ratio << " x source length + "
     << base.decode.max_len_add << " output tokens.\n\n## Summary\n\n"
     << compare_table(results)
     << "\n### What the columns mean\n\n"
        "- **params**: trainable parameters. **steps**: updates trained; **scored**: the checkpoint scored.\n"
        "- **train s**: seconds spent in updates (validation excluded); **tok/s**: target tokens per second of "
        "update time.\n"
        "- **exact**: share of test sentences whose output equals the reference; **tok acc**: share of reference "
        "tokens matched at their position; **BLEU**: corpus BLEU as sacreBLEU computes it (13a tokenisation, exp "
        "smoothing).\n"
        "- **H (nats)**: mean entropy -sum a log a of the attention per output step, natural log: 0 puts all weight "
        "on one source position, log m spreads it evenly over m.\n"
        "- **AER**: alignment error rate (Och & Ney 2003; 0 is perfect) of the argmax of each row of attention "
        "against the gold links, the attention taken from forced decoding of the reference (teacher forcing), so "
        "every gold link meets the row of its own word whatever the model outputs; **AER+1** reads the row of the "
        "next step (a decoder whose query is its previous state looks at a word while emitting the next); **align "
        "acc**: share of reference words with a gold link whose argmax is one of them (row t, and row t+1 in "
        "brackets).\n"
        "- **EM a-b**: exact match of the test sentences whose source length lies in that ten-wide bucket (the "
        "test set's lengths start at "
     << (t.task.empty() ? std::string("its shortest sentence") : std::to_string(t.test_min_len))
     << ", so the first bucket may hold fewer lengths than its name).\n\n"
        "## Plots\n\n![exact match against source length](accuracy_vs_length.svg)\n\n"
        "![BLEU against source length](bleu_vs_length.svg)\n\n"
        "![validation loss over training](loss_over_training.svg)\n\n"
        "![attention entropy over training](entropy_over_training.svg)\n\n"
        "![attention entropy against source length](entropy_vs_length.svg)\n\n"
        "Each model's run directory (`models/<name>/`) has its own `loss.svg` (train loss at every log step and "
        "validation loss), `entropy.svg` and `entropy_bands.svg` over training, and `valid_attention.html` (a few "
        "validation sentences' attention at every validation, side by side).\n\n"
        "`attention.html` compares the models sentence by sentence (outputs, wrong tokens, attention maps side by "
        "side); `svg/` holds the same maps one file each.\n\n";
  for (const auto& r : results["models"]) {
    md << "## " << r["name"].get<std::string>() << "\n\n| source length | sentences | exact match | token accuracy | BLEU |\n"
       << "|---|---|---|---|---|\n";
    for (const auto& b : r["test"]["by_source_length"])
      md << "| " << b["src_len"].get<std::string>() << " | " << b["sentences"] << " | "
         << f2(b["exact_match"].get<double>(), 3) << " | " << f2(b["token_accuracy"].get<double>(), 3) << " | "
         << f2(b["bleu"].get<double>()) << " |\n";
    md << "\n";
  }
  md << "Files: `results.json`, `entropy.json`, `accuracy_vs_length.svg`, `bleu_vs_length.svg`, `attention.html`, "
        "`models/<name>/` (run directories with metrics.jsonl, checkpoints, test_alignments.jsonl).\n";
  write_file_atomic(dir + "/report.md", md.str());
  return results;
}

std::string compare_table(const json& results) {
  // Markdown-style, readable on a console too.
  std::vector<std::string> buckets;
  for (const auto& r : results["models"])
    for (const auto& b : r["test"]["by_source_length"]) {
      std::string k = b["src_len"];
      if (std::find(buckets.begin(), buckets.end(), k) == buckets.end()) buckets.push_back(k);
    }
  std::sort(buckets.begin(), buckets.end(), [](const std::string& a, const std::string& b) {
    return std::stoi(a) < std::stoi(b);
  });
  std::ostringstream o;
  o << "| model | params | steps | scored | train s | tok/s | exact | tok acc | BLEU | H (nats) | AER | AER+1 | align acc |";
  for (const auto& k : buckets) o << " EM " << k << " |";
  o << "\n|---|---|---|---|---|---|---|---|---|---|---|---|---|";
  for (size_t i = 0; i < buckets.size(); ++i) o << "---|";
  o << "\n";
  for (const auto& r : results["models"]) {
    const json& t = r["test"];
    std::string scored = r.value("checkpoint", std::string());
    scored = scored.empty() ? "-" : scored.substr(0, scored.find('.')) + " @ " + std::to_string(r.value("checkpoint_step", 0));
    o << "| " << r["name"].get<std::string>() << " | " << r["parameters"] << " | " << r["train_steps"] << " | " << scored
      << " | "
      << f2(r["train_seconds"].get<double>(), 0) << " | " << f2(r["tokens_per_sec"].get<double>(), 0) << " | "
      << f2(t["exact_match"].get<double>(), 3) << " | " << f2(t["token_accuracy"].get<double>(), 3) << " | "
      << f2(t["bleu"].get<double>()) << " | "
      << (t.contains("attention_entropy") ? f2(t["attention_entropy"]["nats"]["mean"].get<double>()) : "-") << " | "
      << (t.contains("aer") ? f2(t["aer"].get<double>(), 3) : "-") << " | "
      << (t.contains("aer_by_shift") ? f2(t["aer_by_shift"]["1"].get<double>(), 3) : "-") << " | "
      << (t.contains("alignment_accuracy_by_shift")
              ? f2(t["alignment_accuracy_by_shift"]["0"].get<double>(), 3) + " (" +
                    f2(t["alignment_accuracy_by_shift"]["1"].get<double>(), 3) + ")"
              : "-")
      << " |";
    for (const auto& k : buckets) {
      std::string v = "-";
      for (const auto& b : t["by_source_length"])
        if (b["src_len"] == k) v = f2(b["exact_match"].get<double>(), 2);
      o << " " << v << " |";
    }
    o << "\n";
  }
  return o.str();
}

}  // namespace attn
