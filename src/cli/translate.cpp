#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "cli/line_reader.h"
#include "eval/evaluator.h"
#include "eval/model_eval.h"
#include "report/svg.h"
#include "train/checkpoint.h"
#include "util/errors.h"
#include "util/text_file.h"

namespace attn::cli {

namespace {

// One model or an ensemble, and how to decode with it.
struct Translator {
  std::vector<Checkpoint> models;
  std::vector<Seq2SeqImpl*> members;
  SearchOptions search;
  int batch_size = 64;
  torch::Device device = torch::kCPU;
  std::string input_name;  // for warnings: "<stdin>" or the file
  size_t limit = 0;        // longest source the members read, 0 = any
  std::vector<AttentionRecord>* records = nullptr;  // with --dump-attention
  double decode_seconds = 0;
  size_t sentences = 0;

  const TextModel& text() const { return models.front().text; }

  // Output lines for source lines numbered first, first + 1, ...: one per
  // line (n-best: INDEX ||| TEXT ||| SCORE per hypothesis).
  std::string translate(const std::vector<std::string>& lines, size_t first) {
    // Empty lines are kept as empty outputs; the rest are decoded.
    std::vector<Example> ex;
    std::vector<size_t> where;
    std::vector<std::vector<std::string>> src_tokens;
    for (size_t i = 0; i < lines.size(); ++i) {
      auto toks = source_tokens(text(), lines[i], limit, input_name, first + i + 1);
      if (toks.empty()) continue;
      ex.push_back({text().src_vocab.encode(toks), {}, static_cast<int>(first + i + 1)});
      where.push_back(i);
      src_tokens.push_back(std::move(toks));
    }
    auto t0 = std::chrono::steady_clock::now();
    auto decoded = decode_corpus(members, ex, search, batch_size, device);
    decode_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sentences += ex.size();
    std::vector<std::vector<Hypothesis>> hyps(lines.size());
    for (size_t k = 0; k < ex.size(); ++k) hyps[where[k]] = decoded[k];
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (search.nbest <= 1) {
        out += (hyps[i].empty() ? "" : text().detokenize(hyps[i][0].tokens)) + "\n";
        continue;
      }
      const std::string index = std::to_string(first + i);
      if (hyps[i].empty()) out += index + " |||  ||| 0.0000\n";  // empty in, empty out: keep the index
      for (const auto& h : hyps[i]) out += nbest_line(index, text().detokenize(h.tokens), h.score);
    }
    if (records)
      for (size_t k = 0; k < ex.size(); ++k)
        records->push_back(attention_record(static_cast<int>(first + where[k]), src_tokens[k], text(), decoded[k][0]));
    return out;
  }
};

}  // namespace

void add_translate(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = app.add_subcommand("translate", "Translate a text file or stdin with a checkpoint (or an ensemble)");
  sub->footer(
      "Examples:\n  attn translate --checkpoint runs/rev/checkpoints/best.ckpt --input test.src --output test.hyp\n"
      "  echo 'a b c' | attn translate --checkpoint best.ckpt --beam 5 --nbest 3\n"
      "  attn translate --checkpoint a/best.ckpt b/best.ckpt --input test.src     # ensemble\n"
      "  attn translate --checkpoint best.ckpt --input test.src --dump-attention out/attn\n"
      "n-best lines: INDEX ||| TEXT ||| SCORE. Empty input lines give empty output lines.\n"
      "From a pipe or terminal, each line is answered as soon as it is translated (lines that arrive together\n"
      "are decoded together); a file is read whole and decoded in length-sorted batches.\n"
      "Several checkpoints decode as an ensemble: their log-probabilities are averaged at every step, and the\n"
      "dumped attention is the mean of the members that attend.");
  struct Opts {
    std::vector<std::string> checkpoints;
    std::string input = "-", output = "-", dump, config, device = "cpu";
    int beam = 0, nbest = 0, batch = 0;
    DrawOptions drawing;
    double alpha = -1, ratio = -1;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--checkpoint", o->checkpoints, "model checkpoint; several: an ensemble")->required();
  sub->add_option("--input,-i", o->input, "source text, - for stdin");
  sub->add_option("--output,-o", o->output, "output file, - for stdout");
  sub->add_option("--beam", o->beam, "beam size (1 = greedy)")->check(CLI::Range(1, 1000));
  sub->add_option("--nbest", o->nbest, "hypotheses per sentence")->check(CLI::Range(1, 1000));
  sub->add_option("--length-penalty", o->alpha, "GNMT alpha")->check(CLI::Range(0.0, 10.0));
  sub->add_option("--max-len-ratio", o->ratio, "max output length per source token")->check(CLI::Range(0.1, 100.0));
  sub->add_option("--batch-size", o->batch, "sentences per batch")->check(CLI::Range(1, 100000));
  sub->add_option("--device", o->device, "cpu, cuda or cuda:N");
  sub->add_option("--dump-attention", o->dump, "write alignments.jsonl, attention.html and SVGs here");
  sub->add_option("--config", o->config, "JSON config whose decode/output sections apply");
  add_draw_options(sub, o->drawing);
  sub->callback([&run, &g, o] {
    run = [&g, o] {
      // Outputs are checked before any work: a bad --output must not cost the whole run.
      if (o->output != "-") check_writable(o->output);
      if (!o->dump.empty()) check_writable(o->dump + "/alignments.jsonl");
      Translator tr;
      tr.device = resolve_device(o->device);
      auto c0 = std::chrono::steady_clock::now();
      tr.models = load_checkpoints(o->checkpoints, tr.device);
      double load_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
      const Checkpoint& ck = tr.models.front();
      DecodeConfig d;
      OutputConfig out_cfg;
      decode_settings(ck.config, o->config, g, d, out_cfg);
      if (o->beam) d.beam = o->beam;
      if (o->nbest) d.nbest = o->nbest;
      if (o->alpha >= 0) d.length_penalty = o->alpha;
      if (o->ratio > 0) d.max_len_ratio = o->ratio;
      if (o->batch) d.batch_size = o->batch;
      if (d.nbest > d.beam) throw ConfigError({"--nbest " + std::to_string(d.nbest) + " is larger than --beam " +
                                               std::to_string(d.beam)});
      std::string summary;
      for (auto& m : tr.models) {
        tr.members.push_back(m.model.get());
        summary += (summary.empty() ? "" : " + ") + model_summary(m.config.model);
      }
      if (tr.models.size() > 1) summary = "ensemble of " + std::to_string(tr.models.size()) + ": " + summary;
      tr.limit = static_cast<size_t>(Ensemble(tr.members).max_source_tokens());
      if (!o->dump.empty() && !Ensemble(tr.members).has_attention())
        throw ConfigError({"--dump-attention: this " + ck.config.model.type + " model has no attention"});
      tr.search = search_options(d);
      tr.batch_size = d.batch_size;
      tr.input_name = o->input == "-" ? "<stdin>" : o->input;
      std::vector<AttentionRecord> recs;
      if (!o->dump.empty()) tr.records = &recs;
      size_t lines = 0;
      if (o->input == "-" && o->output == "-" && !is_regular_file(0)) {
        // A pipe or terminal: answer each line as soon as it is decoded,
        // batching only what has already arrived.
        LineReader in(0, tr.input_name);
        std::vector<std::string> chunk;
        std::string line;
        while (in.next(line, /*wait=*/true)) {
          chunk.assign(1, line);
          while (static_cast<int>(chunk.size()) < d.batch_size && in.next(line, /*wait=*/false)) chunk.push_back(line);
          write_output("-", tr.translate(chunk, lines), "the translations");
          lines += chunk.size();
        }
      } else {
        std::vector<std::string> all;
        if (o->input == "-") {
          LineReader in(0, tr.input_name);
          for (std::string line; in.next(line, true);) all.push_back(line);
        } else {
          all = read_lines(o->input);
        }
        lines = all.size();
        write_output(o->output, tr.translate(all, 0), "the translations");
      }
      const double secs = tr.decode_seconds;
      spdlog::info("translated {} lines in {:.2f}s ({:.1f} sentences/s, beam {}); start-up: {:.2f}s before main "
                   "(shared libraries, static initialisation), checkpoint read in {:.2f}s",
                   lines, secs, secs > 0 ? static_cast<double>(tr.sentences) / secs : 0.0, d.beam,
                   g.before_main_seconds, load_secs);
      if (!o->dump.empty()) {
        for (auto& r : recs) r.model = summary;
        std::string title = "attn translate: " + summary + ", " + join(o->checkpoints, " + ") + ", " +
                            decoding_summary(tr.search) + ", on " + (o->input == "-" ? "stdin" : o->input) +
                            (tr.models.size() > 1 ? " (attention: the members' mean)" : "");
        write_attention(o->dump, title, recs, o->drawing, out_cfg);
      }
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace attn::cli
