#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "eval/attention_record.h"
#include "eval/bleu.h"
#include "eval/evaluator.h"
#include "eval/model_eval.h"
#include "report/compare_report.h"
#include "report/svg.h"
#include "train/checkpoint.h"
#include "util/errors.h"
#include "util/run_dir.h"
#include "util/text_file.h"

namespace attn::cli {

namespace {

// Scores existing translations, like the sacreBLEU command line.
int score_files(const std::string& hyp_path, const std::string& ref_path, bool as_json) {
  auto hyps = read_lines(hyp_path), refs = read_lines(ref_path);
  if (hyps.size() != refs.size())
    throw DataError(hyp_path + " has " + std::to_string(hyps.size()) + " lines but " + ref_path + " has " +
                    std::to_string(refs.size()));
  std::vector<int> ref_len;
  for (const auto& r : refs) ref_len.push_back(static_cast<int>(split_ws(tokenize_13a(r)).size()));
  json m = translation_metrics(hyps, refs, ref_len);  // corpus BLEU and chrF too, computed once
  json per = m["by_source_length"];
  if (as_json) {
    json j = {{"bleu", m["bleu"]},
              {"bleu_line", m["bleu_line"]},
              {"signature", m["bleu_signature"]},
              {"chrf", m["chrf"]},
              {"by_reference_length", per}};
    std::cout << j.dump(2) << "\n";
    return kOk;
  }
  std::printf("%s\n", m["bleu_line"].get<std::string>().c_str());
  std::printf("chrF2 = %.2f\n", m["chrf"].get<double>());
  std::printf("signature: %s\n", m["bleu_signature"].get<std::string>().c_str());
  for (const auto& b : per)
    std::printf("  ref length %-7s %5d sentences  BLEU %6.2f\n", b["src_len"].get<std::string>().c_str(),
                b["sentences"].get<int>(), b["bleu"].get<double>());
  return kOk;
}

}  // namespace

void add_evaluate(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = app.add_subcommand("evaluate", "Score a checkpoint on a test set, or score existing translations");
  sub->footer(
      "Examples:\n  attn evaluate --checkpoint runs/rev/checkpoints/best.ckpt --src test.src --ref test.tgt --align test.align\n"
      "  attn evaluate --hyp hyp.txt --ref ref.txt            # first line: sacreBLEU's BLEU line\n"
      "  attn evaluate --hyp hyp.txt --ref ref.txt --json");
  struct Opts {
    std::vector<std::string> checkpoints;
    std::string src, ref, align, hyp, config, out, device = "cpu";
    bool json = false;
    int beam = 0, shift = 0;
    DrawOptions drawing;
    double alpha = -1;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--checkpoint", o->checkpoints,
                  "model checkpoint; several: an ensemble (decoding averages their log-probabilities; perplexity "
                  "and forced alignments are the first one's)");
  sub->add_option("--src", o->src, "source text");
  sub->add_option("--ref", o->ref, "reference text")->required();
  sub->add_option("--align", o->align, "gold alignments (Pharaoh; i-j sure, i?j possible) for AER");
  sub->add_option("--hyp", o->hyp, "existing translations to score (no checkpoint)");
  sub->add_flag("--json", o->json, "print JSON");
  sub->add_option("--beam", o->beam, "beam size (1 = greedy)")->check(in_range(1, 1000));
  sub->add_option("--length-penalty", o->alpha, "GNMT alpha")->check(in_range(0.0, 10.0));
  sub->add_option("--align-shift", o->shift, "hard alignment from attention row t+SHIFT")->check(in_range(0, 1));
  sub->add_option("--config", o->config, "JSON config whose decode/output sections apply");
  sub->add_option("--device", o->device, "cpu, cuda or cuda:N");
  sub->add_option("--out", o->out, "report directory (default: next to the checkpoint, eval/)");
  add_draw_options(sub, o->drawing);
  sub->callback([&run, &g, o] {
    run = [&g, o] {
      if (!o->hyp.empty()) return score_files(o->hyp, o->ref, o->json);
      if (o->checkpoints.empty() || o->src.empty())
        throw ConfigError({"evaluate: give --checkpoint and --src (or --hyp to score existing translations)"});
      const torch::Device device = resolve_device(o->device);
      std::vector<Checkpoint> cks = load_checkpoints(o->checkpoints, device);
      Checkpoint& ck = cks.front();
      const std::string checkpoint = join(o->checkpoints, " + ");
      DecodeConfig d;
      OutputConfig out_cfg;
      decode_settings(ck.config, o->config, g, d, out_cfg);
      if (o->beam) d.beam = o->beam;
      if (o->alpha >= 0) d.length_penalty = o->alpha;
      Corpus test = load_corpus(o->src, o->ref, ck.text, true, 0, 0);
      // Links are checked against the sentences as given, before any cut below.
      std::vector<GoldAlignment> gold;
      if (!o->align.empty()) gold = read_gold_alignments(o->align, test.examples);
      EvalOptions eo;
      for (auto& m : cks) eo.ensemble.push_back(m.model.get());
      if (auto limit = static_cast<size_t>(Ensemble(eo.ensemble).max_source_tokens())) {
        size_t cut = 0;
        for (size_t i = 0; i < test.size(); ++i) {
          if (test.examples[i].src.size() <= limit) continue;
          test.examples[i].src.resize(limit);
          test.src_tokens[i].resize(limit);
          ++cut;
        }
        if (cut)
          spdlog::warn("{}: {} sources longer than the {} tokens this model reads (attention.max_src_len) were cut",
                       o->src, cut, limit);
      }
      eo.search = search_options(d);
      eo.search.nbest = 1;
      eo.device = device;
      eo.batch_size = d.batch_size;
      eo.align_shift = o->shift;
      std::string dir = o->out.empty()
                            ? RunDir::of_checkpoint(o->checkpoints.front()).eval()
                            : o->out;
      check_writable(dir + "/metrics.json");  // before the work, not after it
      EvalReport rep = evaluate_model(*ck.model, ck.text, test, gold.empty() ? nullptr : &gold, eo);
      json m = rep.metrics;
      m["checkpoint"] = checkpoint;
      if (cks.size() > 1) m["ensemble"] = o->checkpoints;
      m["src"] = o->src;
      m["ref"] = o->ref;
      write_file_atomic(dir + "/metrics.json", m.dump(2) + "\n");
      std::string hyp_text;
      for (const auto& h : rep.hyps) hyp_text += h + "\n";
      write_file_atomic(dir + "/hyp.txt", hyp_text);
      if (ck.model->decoder->has_attention()) {
        std::string title = "attn evaluate: " + model_summary(ck.config.model) + ", " + checkpoint + ", " +
                            decoding_summary(eo.search) + ", on " + o->src +
                            (cks.size() > 1 ? " (ensemble: attention is the members' mean)" : "");
        write_attention(dir, title, rep.records, o->drawing, out_cfg);
        std::string hard;
        for (const auto& a : rep.hard) hard += to_pharaoh(a) + "\n";
        write_file_atomic(dir + "/hyp.align", hard);
        json entropy = rep.entropy.to_json();
        // The run this checkpoint came from: its attention over training.
        entropy["over_training"] = entropy_over_training(RunDir::of_checkpoint(o->checkpoints.front()).metrics());
        write_file_atomic(dir + "/entropy.json", entropy.dump(2) + "\n");
      }
      if (o->json) {
        std::cout << m.dump(2) << "\n";
        return static_cast<int>(kOk);
      }
      std::printf("%s\n", m["bleu_line"].get<std::string>().c_str());
      std::printf("signature: %s\n", m["bleu_signature"].get<std::string>().c_str());
      std::printf("chrF2 = %.2f | perplexity %.3f | exact match %.3f | token accuracy %.3f\n", m["chrf"].get<double>(),
                  m["perplexity"].get<double>(), m["exact_match"].get<double>(), m["token_accuracy"].get<double>());
      if (m.contains("attention_entropy"))
        std::printf("attention entropy: mean %.3f nats, %.3f of log m\n",
                    m["attention_entropy"]["nats"]["mean"].get<double>(),
                    m["attention_entropy"]["normalised"]["mean"].get<double>());
      if (m.contains("aer"))  // forced decoding of the reference: rows are the reference's words
        std::printf("alignment (forced decoding, row t / t+1): AER %.3f / %.3f, accuracy %.3f / %.3f\n",
                    m["aer_by_shift"]["0"].get<double>(), m["aer_by_shift"]["1"].get<double>(),
                    m["alignment_accuracy_by_shift"]["0"].get<double>(),
                    m["alignment_accuracy_by_shift"]["1"].get<double>());
      for (const auto& b : m["by_source_length"])
        std::printf("  src length %-7s %5d sentences  BLEU %6.2f  exact %.3f\n", b["src_len"].get<std::string>().c_str(),
                    b["sentences"].get<int>(), b["bleu"].get<double>(), b["exact_match"].get<double>());
      std::printf("%.1f sentences/s (beam %d); report in %s\n", m["sentences_per_sec"].get<double>(), d.beam,
                  dir.c_str());
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace attn::cli
