#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "app/translator.h"
#include "cli/common.h"
#include "cli/line_reader.h"
#include "eval/evaluator.h"
#include "eval/model_eval.h"
#include "report/svg.h"
#include "train/checkpoint.h"
#include "util/errors.h"
#include "util/text_file.h"

namespace attn::cli {

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
  sub->add_option("--input,-i", o->input, "source text, - for stdin; a pipe (also a named one) is answered line by line");
  sub->add_option("--output,-o", o->output, "output file, - for stdout");
  sub->add_option("--beam", o->beam, "beam size (1 = greedy)")->check(in_range(1, 1000));
  sub->add_option("--nbest", o->nbest, "hypotheses per sentence")->check(in_range(1, 1000));
  sub->add_option("--length-penalty", o->alpha, "GNMT alpha")->check(in_range(0.0, 10.0));
  sub->add_option("--max-len-ratio", o->ratio, "max output length per source token")->check(in_range(0.1, 100.0));
  sub->add_option("--batch-size", o->batch, "sentences per batch")->check(in_range(1, 100000));
  sub->add_option("--device", o->device, "cpu, cuda or cuda:N");
  sub->add_option("--dump-attention", o->dump, "write alignments.jsonl, attention.html and SVGs here");
  sub->add_option("--config", o->config, "JSON config whose decode/output sections apply");
  add_draw_options(sub, o->drawing);
  sub->callback([&run, &g, o] {
    run = [&g, o] {
      // Outputs are checked before any work: a bad --output must not cost the whole run.
      if (o->output != "-") check_writable(o->output);
      if (!o->dump.empty()) check_writable(o->dump + "/alignments.jsonl");
      // stdin, or a named file; one that is not a regular file (a pipe, <(command),
      // /dev/stdin) is read as a stream, like stdin.
      const std::string input_name = o->input == "-" ? "<stdin>" : o->input;
      InputFd input_fd(o->input);
      const torch::Device device = resolve_device(o->device);
      auto c0 = std::chrono::steady_clock::now();
      TranslationModel model = load_translation_model(o->checkpoints, device);
      double load_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
      const Checkpoint& ck = model.first();
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
      if (!o->dump.empty() && !model.has_attention())
        throw ConfigError({"--dump-attention: this " + ck.config.model.type + " model has no attention"});
      TranslateOptions topts;
      topts.search = search_options(d);
      topts.batch_size = d.batch_size;
      Translator tr(model, topts, input_name);
      std::vector<AttentionRecord> recs;
      if (!o->dump.empty()) tr.keep_records(&recs);
      size_t lines = 0;
      if (o->output == "-" && !is_regular_file(input_fd.fd())) {
        // A pipe or terminal: answer each line as soon as it is decoded,
        // batching only what has already arrived.
        LineReader in(input_fd.fd(), input_name);
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
        if (o->input == "-" || !is_regular_file(input_fd.fd())) {
          LineReader in(input_fd.fd(), input_name);
          for (std::string line; in.next(line, true);) all.push_back(line);
        } else {
          all = read_lines(o->input);  // also reads .gz
        }
        lines = all.size();
        write_output(o->output, tr.translate(all, 0), "the translations");
      }
      const double secs = tr.decode_seconds();
      spdlog::info("translated {} lines in {:.2f}s ({:.1f} sentences/s, beam {}); start-up: {:.2f}s before main "
                   "(shared libraries, static initialisation), checkpoint read in {:.2f}s",
                   lines, secs, secs > 0 ? static_cast<double>(tr.sentences()) / secs : 0.0, d.beam,
                   g.before_main_seconds, load_secs);
      if (!o->dump.empty()) {
        std::string title = "attn translate: " + model.summary + ", " + join(o->checkpoints, " + ") + ", " +
                            decoding_summary(topts.search) + ", on " + (o->input == "-" ? "stdin" : o->input) +
                            (model.members.size() > 1 ? " (attention: the members' mean)" : "");
        write_attention(o->dump, title, recs, o->drawing, out_cfg);
      }
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace attn::cli
