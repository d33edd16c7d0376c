#include "report/compare_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "data/text_file.h"
#include "report/compare_page.h"
#include "report/svg.h"

namespace attn {

using json = nlohmann::json;

namespace {

std::string f2(double v, int p = 2) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", p, v);
  return b;
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
  json results = {{"models", json::array()}, {"test_src", base.data.test_src}};
  json entropy = json::object();
  std::vector<Series> acc_series, bleu_series;
  std::vector<PageModel> page;
  for (const auto& m : models) {
    json r = {{"name", m.name},
              {"type", m.config.model.type},
              {"attention", m.config.model.type == "bottleneck" ? "none" : m.config.model.attention.score},
              {"parameters", m.summary.value("parameters", 0)},
              {"train_steps", m.summary.value("steps", 0)},
              {"train_seconds", m.summary.value("train_seconds", 0.0)},
              {"tokens_per_sec", m.summary.value("tokens_per_sec", 0.0)},
              {"test", m.test}};
    results["models"].push_back(r);
    Series acc{m.name, {}, {}}, bl{m.name, {}, {}};
    for (const auto& b : m.test["by_source_length"]) {
      double x = bucket_mid(b["src_len"].get<std::string>());
      acc.x.push_back(x);
      acc.y.push_back(b["exact_match"].get<double>());
      bl.x.push_back(x);
      bl.y.push_back(b["bleu"].get<double>());
    }
    acc_series.push_back(acc);
    bleu_series.push_back(bl);
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
                    line_plot_svg("Exact match vs source length (test)", "source length", "exact match",
                                  acc_series, 0.0, 1.0));
  write_file_atomic(dir + "/bleu_vs_length.svg",
                    line_plot_svg("BLEU vs source length (test)", "source length", "BLEU", bleu_series, 0.0, 100.0));
  // One row per sentence, the models side by side (every model decodes the same test corpus).
  const auto& refs = models.empty() ? std::vector<std::vector<std::string>>{} : models.front().references;
  std::vector<size_t> show = pick_comparison_sentences(page, refs, base.output.dump_attention);
  write_file_atomic(dir + "/attention.html",
                    comparison_html("attn compare: test sentences of " + base.data.test_src + ", greedy", page, refs,
                                    show));
  for (const auto& m : page)
    for (size_t i : show)
      if (i < m.records.size() && m.records[i].weights.defined() && m.records[i].weights.numel() > 0)
        write_file_atomic(dir + "/svg/" + m.name + "-" + std::to_string(i) + ".svg",
                          heatmap_svg(m.records[i], m.name + " (" + m.summary + ") #" + std::to_string(i)));

  // report.md
  std::ostringstream md;
  md << "# attn compare\n\nTest set: `" << base.data.test_src << "`\n\n## Summary\n\n" << compare_table(results)
     << "\nexact: exact match; tok acc: positional token accuracy; H: mean attention entropy per target step; "
        "AER: alignment error rate of the argmax of the attention against the gold alignments, the attention "
        "taken from forced decoding of the reference (teacher forcing), so every gold link meets the row of its own "
        "word whatever the model outputs; AER+1: the same reading the attention row of the next step (what a "
        "decoder looks at after emitting the word); align acc: share of target words whose argmax is a gold link "
        "(row t, and row t+1 in brackets).\n\n";
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
  o << "| model | params | steps | train s | tok/s | exact | tok acc | BLEU | H (nats) | AER | AER+1 | align acc |";
  for (const auto& k : buckets) o << " EM " << k << " |";
  o << "\n|---|---|---|---|---|---|---|---|---|---|---|---|";
  for (size_t i = 0; i < buckets.size(); ++i) o << "---|";
  o << "\n";
  for (const auto& r : results["models"]) {
    const json& t = r["test"];
    o << "| " << r["name"].get<std::string>() << " | " << r["parameters"] << " | " << r["train_steps"] << " | "
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
