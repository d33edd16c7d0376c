// `attn score`: forced decoding of given translations, and n-best rescoring.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "app/translator.h"
#include "cli/common.h"
#include "eval/evaluator.h"
#include "eval/model_eval.h"
#include "report/svg.h"
#include "train/checkpoint.h"
#include "util/errors.h"
#include "util/text_file.h"

namespace attn::cli {

namespace {

struct NbestEntry {
  size_t index;
  std::string text;
};

// translate's n-best format, INDEX ||| TEXT ||| SCORE; errors name file:line.
std::vector<NbestEntry> read_nbest(const std::string& path, size_t sources) {
  std::vector<NbestEntry> out;
  auto lines = read_lines(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    auto where = path + ":" + std::to_string(i + 1) + ": ";
    size_t a = l.find(" ||| ");
    if (a == std::string::npos) throw DataError(where + "expected INDEX ||| TEXT ||| SCORE");
    size_t b = l.find(" ||| ", a + 5);
    std::string index = l.substr(0, a), text = l.substr(a + 5, b == std::string::npos ? std::string::npos : b - a - 5);
    if (index.empty() || !std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        index.size() > 9)
      throw DataError(where + "\"" + index + "\" is not a sentence index");
    size_t k = std::stoul(index);
    if (k >= sources)
      throw DataError(where + "index " + index + " but the source has " + std::to_string(sources) + " lines");
    out.push_back({k, text});
  }
  return out;
}

std::string fixed4(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

}  // namespace

void add_score(CLI::App& app, Globals&, Runner& run) {
  auto* sub = app.add_subcommand("score", "Log-probabilities of given translations (forced decoding); n-best rescoring");
  sub->footer(
      "Examples:\n"
      "  attn score --checkpoint best.ckpt --src test.src --tgt test.hyp            # LOGPROB<TAB>PER_TOKEN<TAB>TOKENS\n"
      "  attn score --checkpoint best.ckpt --src test.src --tgt test.ref --json --dump-attention out/forced\n"
      "  attn translate --checkpoint a.ckpt --beam 5 --nbest 5 -i test.src > nbest.txt\n"
      "  attn score --checkpoint b.ckpt --src test.src --nbest nbest.txt            # rescored, best first\n"
      "TOKENS counts the target's tokens and </s>; LOGPROB is their summed natural-log probability. Several\n"
      "checkpoints score as an ensemble (log-probabilities averaged per token, as translate decodes).\n"
      "A line with an empty source gets an empty output line.");
  struct Opts {
    std::vector<std::string> checkpoints;
    std::string src, tgt, nbest, output = "-", dump, device = "cpu";
    bool json = false, per_token = false;
    int batch = 64;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--checkpoint", o->checkpoints, "model checkpoint; several: an ensemble")->required();
  sub->add_option("--src", o->src, "source text")->required();
  auto* tgt = sub->add_option("--tgt", o->tgt, "target text to score, one line per source line");
  auto* nb = sub->add_option("--nbest", o->nbest, "n-best list to rescore (INDEX ||| TEXT ||| SCORE)");
  tgt->excludes(nb);
  sub->add_option("--output,-o", o->output, "output file, - for stdout");
  sub->add_flag("--json", o->json, "JSON lines: line, log_prob, tokens, per_token");
  sub->add_flag("--per-token", o->per_token, "n-best: rank and print by log-probability per token");
  sub->add_option("--dump-attention", o->dump, "forced-decoding attention: alignments.jsonl, attention.html");
  sub->add_option("--batch-size", o->batch, "sentences per batch")->check(in_range(1, 100000));
  sub->add_option("--device", o->device, "cpu, cuda or cuda:N");
  sub->callback([&run, o] {
    run = [o] {
      if (o->tgt.empty() == o->nbest.empty()) throw ConfigError({"score: give --tgt or --nbest"});
      if (o->output != "-") check_writable(o->output);
      if (!o->dump.empty()) check_writable(o->dump + "/alignments.jsonl");
      const torch::Device device = resolve_device(o->device);
      TranslationModel model = load_translation_model(o->checkpoints, device);
      if (!o->dump.empty() && !model.has_attention())
        throw ConfigError({"--dump-attention: this " + model.first().config.model.type + " model has no attention"});
      const TextModel& text = model.text();
      auto sources = read_lines(o->src);
      // The pairs to score: (source line, target text).
      std::vector<NbestEntry> pairs;
      if (!o->tgt.empty()) {
        auto targets = read_lines(o->tgt);
        if (targets.size() != sources.size())
          throw DataError(o->tgt + " has " + std::to_string(targets.size()) + " lines but " + o->src + " has " +
                          std::to_string(sources.size()));
        for (size_t i = 0; i < targets.size(); ++i) pairs.push_back({i, targets[i]});
      } else {
        pairs = read_nbest(o->nbest, sources.size());
      }
      std::vector<std::vector<std::string>> src_tok(sources.size());
      for (size_t i = 0; i < sources.size(); ++i)
        src_tok[i] = source_tokens(text, sources[i], model.max_source_tokens, o->src, i + 1);
      std::vector<std::vector<std::string>> pair_src;
      std::vector<std::string> pair_tgt;
      for (const auto& p : pairs) {
        pair_src.push_back(src_tok[p.index]);
        pair_tgt.push_back(p.text);
      }
      auto scored = score_pairs(model, pair_src, pair_tgt, o->batch, !o->dump.empty());
      std::vector<const SentenceScore*> of(pairs.size(), nullptr);
      for (size_t k = 0; k < pairs.size(); ++k)
        if (scored[k].scored) of[k] = &scored[k].score;
      auto per_token = [](const SentenceScore& s) { return s.log_prob / static_cast<double>(s.tokens); };
      std::string out;
      if (!o->tgt.empty()) {
        for (size_t k = 0; k < pairs.size(); ++k) {
          const SentenceScore* s = of[k];
          if (o->json) {
            json j = {{"line", k + 1}};
            if (s) j.update({{"log_prob", s->log_prob}, {"tokens", s->tokens}, {"per_token", per_token(*s)}});
            out += j.dump() + "\n";
          } else {
            out += s ? fixed4(s->log_prob) + "\t" + fixed4(per_token(*s)) + "\t" + std::to_string(s->tokens) + "\n"
                     : "\n";
          }
        }
      } else {
        // Per source sentence, in order of first appearance: its entries best first.
        std::vector<size_t> order(pairs.size());
        for (size_t k = 0; k < order.size(); ++k) order[k] = k;
        auto value = [&](size_t k) {
          return of[k] ? (o->per_token ? per_token(*of[k]) : of[k]->log_prob) : 0.0;
        };
        std::map<size_t, size_t> first;
        for (size_t k = 0; k < pairs.size(); ++k) first.emplace(pairs[k].index, k);
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
          size_t fa = first[pairs[a].index], fb = first[pairs[b].index];
          return fa != fb ? fa < fb : value(a) > value(b);
        });
        for (size_t k : order) out += nbest_line(std::to_string(pairs[k].index), pairs[k].text, value(k));
      }
      write_output(o->output, out, "the scores");
      if (!o->dump.empty()) {
        std::vector<AttentionRecord> recs;
        for (size_t k = 0; k < pairs.size(); ++k)
          if (scored[k].scored && scored[k].score.attention.defined())
            recs.push_back(forced_record(model, static_cast<int>(pairs[k].index), scored[k]));
        std::string title = "attn score (forced decoding): " + model.summary + ", " +
                            join(o->checkpoints, " + ") + ", on " + o->src;
        int drawn = write_attention_files(o->dump, title, recs, 10, "linear");
        spdlog::info("forced attention of {} sentences in {}/alignments.jsonl, {} drawn in {}/attention.html",
                     recs.size(), o->dump, drawn, o->dump);
      }
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace attn::cli
