#include "eval/model_eval.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "eval/evaluator.h"
#include "util/errors.h"
#include "util/text_file.h"

namespace attn {

AttentionRecord attention_record(int id, const std::vector<std::string>& src_tokens, const TextModel& text,
                                 const Hypothesis& h) {
  AttentionRecord r;
  r.id = id;
  r.src = src_tokens;
  r.src.push_back("</s>");
  r.tgt = text.target_tokens(h.tokens);
  r.weights = h.attention;
  r.eos_weights = h.eos_attention;
  r.score = h.score;
  return r;
}

namespace {
// Line `line` (1-based) of a Pharaoh file, each link checked against the
// example's lengths: a link outside the sentence would give a wrong AER.
GoldAlignment checked_gold(const std::string& path, int line, const std::string& text, const Example& e) {
  GoldAlignment g;
  try {
    g = parse_pharaoh(text);
  } catch (const std::invalid_argument& err) {
    throw DataError(path + ":" + std::to_string(line) + ": " + err.what());
  }
  const int src = static_cast<int>(e.src.size()), tgt = static_cast<int>(e.tgt.size());
  for (auto [i, j] : g.possible) {
    if (i < src && j < tgt) continue;
    bool sure = g.sure.count({i, j}) > 0;
    std::string link = std::to_string(i) + (sure ? "-" : "?") + std::to_string(j);
    std::string why = i >= src ? "source position " + std::to_string(i) + " but the source has " +
                                     std::to_string(src) + " tokens"
                               : "target position " + std::to_string(j) + " but the target has " +
                                     std::to_string(tgt) + " tokens";
    throw DataError(path + ":" + std::to_string(line) + ": link " + link + " is outside the sentence (" + why +
                    ", counted from 0)");
  }
  return g;
}
}  // namespace

std::vector<GoldAlignment> read_gold_alignments(const std::string& path, const std::vector<Example>& ex) {
  auto lines = read_lines(path);
  if (lines.size() != ex.size())
    throw DataError(path + " has " + std::to_string(lines.size()) + " lines but the test set has " +
                    std::to_string(ex.size()));
  std::vector<GoldAlignment> out;
  for (size_t i = 0; i < lines.size(); ++i) out.push_back(checked_gold(path, static_cast<int>(i + 1), lines[i], ex[i]));
  return out;
}

std::vector<GoldAlignment> gold_for_examples(const std::string& path, const std::vector<Example>& ex) {
  auto lines = read_lines(path);
  std::vector<GoldAlignment> out;
  for (const auto& e : ex) {
    if (e.line < 1 || static_cast<size_t>(e.line) > lines.size())
      throw DataError(path + " has " + std::to_string(lines.size()) + " lines but the corpus uses line " +
                      std::to_string(e.line));
    out.push_back(checked_gold(path, e.line, lines[static_cast<size_t>(e.line - 1)], e));
  }
  return out;
}

EvalReport evaluate_model(Seq2SeqImpl& model, const TextModel& text, const Corpus& c,
                          const std::vector<GoldAlignment>* gold, const EvalOptions& o) {
  if (o.align_shift < 0 || o.align_shift > 1) throw std::invalid_argument("align_shift must be 0 or 1");
  EvalReport r;
  auto t0 = std::chrono::steady_clock::now();
  SearchOptions so = o.search;
  so.keep_attention = true;  // the output's entropy and hard links (hyp.align)
  auto hyps = decode_corpus(o.ensemble.empty() ? std::vector<Seq2SeqImpl*>{&model} : o.ensemble, c.examples, so,
                            o.batch_size, o.device);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<int> src_len;
  for (size_t i = 0; i < hyps.size(); ++i) {
    const Hypothesis& h = hyps[i][0];
    r.hyps.push_back(text.detokenize(h.tokens));
    int n = static_cast<int>(c.examples[i].src.size());
    src_len.push_back(n);
    AttentionRecord rec = attention_record(static_cast<int>(i), c.src_tokens[i], text, h);
    if (gold) rec.gold = (*gold)[i];
    rec.reference = c.tgt_tokens[i];
    rec.model = model_summary(model.config);
    if (h.attention.defined()) {
      r.entropy.add(h.attention, n);
      r.hard.push_back(hard_alignment(h.attention, n, o.align_shift));  // of the output: hyp.align
    }
    r.records.push_back(std::move(rec));
  }
  r.metrics = translation_metrics(r.hyps, c.tgt_text, src_len);
  // Alignment quality comes from forced decoding of the reference: the
  // output's own attention puts every gold link after its first wrong word
  // on the wrong row.
  ForcedScores fs = score_corpus(model, c.examples, o.batch_size, o.device, gold != nullptr);
  r.metrics["perplexity"] = fs.perplexity();
  r.metrics["forced_token_accuracy"] = fs.token_accuracy();
  r.metrics["decode_seconds"] = secs;
  r.metrics["sentences_per_sec"] = secs > 0 ? static_cast<double>(hyps.size()) / secs : 0.0;
  r.metrics["beam"] = o.search.beam;
  if (model.decoder->has_attention()) {
    r.metrics["attention_entropy"] = r.entropy.to_json();
    if (gold) r.metrics.update(forced_alignment_metrics(fs.attention, *gold, o.align_shift));
  }
  return r;
}

}  // namespace attn
