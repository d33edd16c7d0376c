#include "app/translator.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>

#include "eval/model_eval.h"

namespace attn {

bool TranslationModel::has_attention() const { return Ensemble(members).has_attention(); }

int64_t TranslationModel::parameters() const {
  int64_t n = 0;
  for (auto* m : members) n += m->parameter_count();
  return n;
}

TranslationModel load_translation_model(const std::vector<std::string>& paths, const torch::Device& device,
                                        const std::string& name) {
  TranslationModel m;
  m.name = name;
  m.paths = paths;
  m.device = device;
  m.checkpoints = load_checkpoints(paths, device);
  for (auto& ck : m.checkpoints) {
    m.members.push_back(ck.model.get());
    m.summary += (m.summary.empty() ? "" : " + ") + model_summary(ck.config.model);
  }
  if (m.members.size() > 1) m.summary = "ensemble of " + std::to_string(m.members.size()) + ": " + m.summary;
  m.max_source_tokens = static_cast<size_t>(Ensemble(m.members).max_source_tokens());
  return m;
}

std::vector<std::string> source_tokens(const TextModel& text, const std::string& line, size_t limit,
                                       const std::string& file, size_t line_no) {
  auto toks = text.src_tok->encode(line);
  if (limit && toks.size() > limit) {
    spdlog::warn("{}:{}: {} tokens; this model reads at most {} (attention.max_src_len): the rest is not used", file,
                 line_no, toks.size(), limit);
    toks.resize(limit);
  }
  return toks;
}

std::vector<TranslatedLine> translate_tokens(TranslationModel& m, std::vector<std::vector<std::string>> sources,
                                             const TranslateOptions& o) {
  std::vector<TranslatedLine> out(sources.size());
  std::vector<Example> ex;
  std::vector<size_t> where;
  for (size_t i = 0; i < sources.size(); ++i) {
    if (sources[i].empty()) continue;  // empty in, empty out
    ex.push_back({m.text().src_vocab.encode(sources[i]), {}, static_cast<int>(i + 1)});
    where.push_back(i);
  }
  for (size_t i = 0; i < sources.size(); ++i) out[i].src_tokens = std::move(sources[i]);
  if (ex.empty()) return out;
  ScopedAttentionTemperature tau(m.members, o.temperature);
  auto decoded = decode_corpus(m.members, ex, o.search, o.batch_size, m.device);
  for (size_t k = 0; k < ex.size(); ++k) out[where[k]].hyps = std::move(decoded[k]);
  return out;
}

std::vector<ScoredPair> score_pairs(TranslationModel& m, const std::vector<std::vector<std::string>>& sources,
                                    const std::vector<std::string>& targets, int batch_size, bool keep_attention,
                                    double temperature) {
  const TextModel& text = m.text();
  std::vector<ScoredPair> out(sources.size());
  std::vector<Example> ex;
  std::vector<size_t> which;
  for (size_t k = 0; k < sources.size(); ++k) {
    ScoredPair& p = out[k];
    p.src_tokens = sources[k];
    p.tgt_tokens = text.tgt_tok->encode(targets[k]);
    p.tgt_ids = text.tgt_vocab.encode(p.tgt_tokens);
    if (p.src_tokens.empty()) continue;
    ex.push_back({text.src_vocab.encode(p.src_tokens), p.tgt_ids, static_cast<int>(k + 1)});
    which.push_back(k);
  }
  if (ex.empty()) return out;
  ScopedAttentionTemperature tau(m.members, temperature);
  auto scores = score_sentences(m.members, ex, batch_size, m.device, keep_attention);
  for (size_t e = 0; e < ex.size(); ++e) {
    out[which[e]].scored = true;
    out[which[e]].score = std::move(scores[e]);
  }
  return out;
}

AttentionRecord hypothesis_record(const TranslationModel& m, int id, const std::vector<std::string>& src_tokens,
                                  const Hypothesis& h) {
  AttentionRecord r = attention_record(id, src_tokens, m.text(), h);
  r.model = m.summary;
  return r;
}

AttentionRecord forced_record(const TranslationModel& m, int id, const ScoredPair& p) {
  const SentenceScore& s = p.score;
  Hypothesis h;
  h.tokens = p.tgt_ids;
  h.score = s.log_prob;
  if (s.attention.defined()) {
    h.attention = s.attention.narrow(0, 0, s.tokens - 1);
    h.eos_attention = s.attention[s.tokens - 1];
  }
  return hypothesis_record(m, id, p.src_tokens, h);
}

std::string nbest_line(const std::string& index, const std::string& text, double score) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", score);
  return index + " ||| " + text + " ||| " + buf + "\n";
}

std::string Translator::translate(const std::vector<std::string>& lines, size_t first) {
  const TextModel& text = model_.text();
  std::vector<std::vector<std::string>> sources;
  for (size_t i = 0; i < lines.size(); ++i)
    sources.push_back(source_tokens(text, lines[i], model_.max_source_tokens, input_name_, first + i + 1));
  auto t0 = std::chrono::steady_clock::now();
  auto done = translate_tokens(model_, std::move(sources), options_);
  decode_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string out;
  for (size_t i = 0; i < done.size(); ++i) {
    const auto& hyps = done[i].hyps;
    sentences_ += hyps.empty() ? 0 : 1;
    if (options_.search.nbest <= 1) {
      out += (hyps.empty() ? "" : text.detokenize(hyps[0].tokens)) + "\n";
      continue;
    }
    const std::string index = std::to_string(first + i);
    if (hyps.empty()) out += index + " |||  ||| 0.0000\n";  // empty in, empty out: keep the index
    for (const auto& h : hyps) out += nbest_line(index, text.detokenize(h.tokens), h.score);
  }
  if (records_)
    for (size_t i = 0; i < done.size(); ++i)
      if (!done[i].hyps.empty())
        records_->push_back(hypothesis_record(model_, static_cast<int>(first + i), done[i].src_tokens, done[i].hyps[0]));
  return out;
}

}  // namespace attn
