#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "data/errors.h"
#include "data/text_file.h"
#include "eval/evaluator.h"
#include "eval/model_eval.h"
#include "report/svg.h"
#include "train/checkpoint.h"

namespace attn::cli {

namespace {

std::vector<std::string> read_input(const std::string& path) {
  if (path != "-") return read_lines(path);
  std::vector<std::string> lines;
  std::string l;
  while (std::getline(std::cin, l)) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (lines.empty()) strip_bom(l);
    if (find_invalid_utf8(l) != std::string::npos)
      throw DataError("<stdin>:" + std::to_string(lines.size() + 1) + ": invalid UTF-8");
    lines.push_back(l);
  }
  return lines;
}

}  // namespace

void add_translate(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = app.add_subcommand("translate", "Translate a text file or stdin with a checkpoint");
  sub->footer(
      "Examples:\n  attn translate --checkpoint runs/rev/checkpoints/best.ckpt --input test.src --output test.hyp\n"
      "  echo 'a b c' | attn translate --checkpoint best.ckpt --beam 5 --nbest 3\n"
      "  attn translate --checkpoint best.ckpt --input test.src --dump-attention out/attn\n"
      "n-best lines: INDEX ||| TEXT ||| SCORE. Empty input lines give empty output lines.");
  struct Opts {
    std::string checkpoint, input = "-", output = "-", dump, config;
    int beam = 0, nbest = 0, batch = 0, draw = -1;
    std::string scale;
    double alpha = -1, ratio = -1;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--checkpoint", o->checkpoint, "model checkpoint")->required();
  sub->add_option("--input,-i", o->input, "source text, - for stdin");
  sub->add_option("--output,-o", o->output, "output file, - for stdout");
  sub->add_option("--beam", o->beam, "beam size (1 = greedy)")->check(CLI::Range(1, 1000));
  sub->add_option("--nbest", o->nbest, "hypotheses per sentence")->check(CLI::Range(1, 1000));
  sub->add_option("--length-penalty", o->alpha, "GNMT alpha")->check(CLI::Range(0.0, 10.0));
  sub->add_option("--max-len-ratio", o->ratio, "max output length per source token")->check(CLI::Range(0.1, 100.0));
  sub->add_option("--batch-size", o->batch, "sentences per batch")->check(CLI::Range(1, 100000));
  sub->add_option("--dump-attention", o->dump, "write alignments.jsonl, attention.html and SVGs here");
  sub->add_option("--config", o->config, "JSON config whose decode/output sections apply");
  sub->add_option("--draw", o->draw, "sentences drawn in attention.html (default: output.dump_attention)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--scale", o->scale, "map colours: linear or sqrt (default: output.attention_scale)")
      ->check(CLI::IsMember({"linear", "sqrt"}));
  sub->callback([&run, &g, o] {
    run = [&g, o] {
      // Outputs are checked before any work: a bad --output must not cost the whole run.
      if (o->output != "-") check_writable(o->output);
      if (!o->dump.empty()) check_writable(o->dump + "/alignments.jsonl");
      auto c0 = std::chrono::steady_clock::now();
      Checkpoint ck = load_checkpoint(o->checkpoint);
      double load_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
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
      if (!o->dump.empty() && !ck.model->decoder->has_attention())
        throw ConfigError({"--dump-attention: this " + ck.config.model.type + " model has no attention"});
      SearchOptions so{d.beam, d.length_penalty, d.max_len_ratio, d.max_len_add, d.nbest};
      auto lines = read_input(o->input);
      // Empty lines are kept as empty outputs; the rest are decoded.
      std::vector<Example> ex;
      std::vector<size_t> where;
      std::vector<std::vector<std::string>> src_tokens;
      const auto limit = static_cast<size_t>(ck.model->max_source_tokens());
      for (size_t i = 0; i < lines.size(); ++i) {
        auto toks = ck.text.src_tok->encode(lines[i]);
        if (toks.empty()) continue;
        if (limit && toks.size() > limit) {  // one long line must not cost the others their translations
          spdlog::warn("{}:{}: {} tokens; this model reads at most {} (attention.max_src_len): the rest is not "
                       "translated", o->input == "-" ? "<stdin>" : o->input, i + 1, toks.size(), limit);
          toks.resize(limit);
        }
        ex.push_back({ck.text.src_vocab.encode(toks), {}, static_cast<int>(i + 1)});
        where.push_back(i);
        src_tokens.push_back(std::move(toks));
      }
      auto t0 = std::chrono::steady_clock::now();
      auto decoded = decode_corpus(*ck.model, ex, so, d.batch_size, torch::kCPU);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::vector<std::vector<Hypothesis>> hyps(lines.size());
      for (size_t k = 0; k < ex.size(); ++k) hyps[where[k]] = decoded[k];
      std::string text;
      for (size_t i = 0; i < lines.size(); ++i) {
        if (d.nbest <= 1) {
          text += (hyps[i].empty() ? "" : ck.text.detokenize(hyps[i][0].tokens)) + "\n";
          continue;
        }
        if (hyps[i].empty()) text += std::to_string(i) + " |||  ||| 0.0000\n";  // empty in, empty out: keep the index
        for (const auto& h : hyps[i]) {
          char score[32];
          std::snprintf(score, sizeof score, "%.4f", h.score);
          text += std::to_string(i) + " ||| " + ck.text.detokenize(h.tokens) + " ||| " + score + "\n";
        }
      }
      if (o->output == "-") {
        std::cout << text << std::flush;
        // A full disk or a closed stdout must not look like success.
        if (!std::cout) throw DataError("cannot write the translations to standard output");
      } else
        write_file_atomic(o->output, text);
      spdlog::info("translated {} lines in {:.2f}s ({:.1f} sentences/s, beam {}); start-up: {:.2f}s before main "
                   "(shared libraries, static initialisation), checkpoint read in {:.2f}s",
                   lines.size(), secs, secs > 0 ? static_cast<double>(ex.size()) / secs : 0.0, d.beam,
                   g.before_main_seconds, load_secs);
      if (!o->dump.empty()) {
        std::vector<AttentionRecord> recs;
        for (size_t k = 0; k < ex.size(); ++k)
          recs.push_back(attention_record(static_cast<int>(where[k]), src_tokens[k], ck.text, decoded[k][0]));
        for (auto& r : recs) r.model = model_summary(ck.config.model);
        std::string title = "attn translate: " + model_summary(ck.config.model) + ", " + o->checkpoint + ", " +
                            decoding_summary(so) + ", on " + (o->input == "-" ? "stdin" : o->input);
        int drawn = write_attention_files(o->dump, title, recs, o->draw >= 0 ? o->draw : out_cfg.dump_attention,
                                          o->scale.empty() ? out_cfg.attention_scale : o->scale);
        spdlog::info("attention of {} sentences in {}/alignments.jsonl, {} drawn in {}/attention.html", recs.size(),
                     o->dump, drawn, o->dump);
      }
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace attn::cli
