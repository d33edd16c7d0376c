#include "serve/api.h"

#include <algorithm>
#include <cmath>

#include "eval/entropy.h"

namespace attn::serve {

using nlohmann::json;

namespace {

std::string kind_of(const json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

std::string num_text(double v) {
  json j = v;
  return j.dump();
}

// The fields of one request object: each read once, unknown ones refused.
class Fields {
 public:
  Fields(const json& j, std::string where, std::vector<std::string> known)
      : j_(j), where_(std::move(where)), known_(std::move(known)) {
    if (!j_.is_object()) throw ApiError(400, (where_.empty() ? "body" : where_) + ": expected a JSON object, got " +
                                                 kind_of(j_));
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (std::find(known_.begin(), known_.end(), it.key()) == known_.end()) {
        std::string msg = name(it.key()) + ": unknown field (expected one of";
        for (size_t i = 0; i < known_.size(); ++i) msg += (i ? ", " : " ") + known_[i];
        msg += ")";
        auto g = did_you_mean(it.key(), known_);
        if (!g.empty()) msg += " (did you mean \"" + g + "\"?)";
        throw ApiError(400, msg);
      }
  }
  std::string name(const std::string& key) const { return where_.empty() ? key : where_ + "." + key; }
  bool has(const std::string& key) const { return j_.contains(key) && !j_[key].is_null(); }

  int integer(const std::string& key, int lo, int hi, int fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_[key];
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
      throw ApiError(400, name(key) + ": expected an integer from " + std::to_string(lo) + " to " +
                              std::to_string(hi) + ", got " + (v.is_number() ? v.dump() : kind_of(v)));
    return v.get<int>();
  }
  double number(const std::string& key, double lo, double hi, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_[key];
    if (!v.is_number() || !(v.get<double>() >= lo && v.get<double>() <= hi))
      throw ApiError(400, name(key) + ": expected a number from " + num_text(lo) + " to " + num_text(hi) +
                              ", got " + (v.is_number() ? v.dump() : kind_of(v)));
    return v.get<double>();
  }
  bool flag(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_boolean()) throw ApiError(400, name(key) + ": expected true or false, got " + kind_of(j_[key]));
    return j_[key].get<bool>();
  }
  std::string text(const std::string& key) const {
    if (!j_[key].is_string()) throw ApiError(400, name(key) + ": expected a string, got " + kind_of(j_[key]));
    return j_[key].get<std::string>();
  }
  // A string, or a non-empty array of at most max_lines strings; `single`
  // says which it was.
  std::vector<std::string> lines(const std::string& key, int max_lines, bool& single) const {
    if (!has(key)) throw ApiError(400, name(key) + ": missing (a string, or an array of strings)");
    const json& v = j_[key];
    std::vector<std::string> out;
    single = v.is_string();
    if (single) {
      out.push_back(v.get<std::string>());
    } else if (v.is_array()) {
      if (v.empty()) throw ApiError(400, name(key) + ": an empty array (give at least one line)");
      if (v.size() > static_cast<size_t>(max_lines))
        throw ApiError(400, name(key) + ": " + std::to_string(v.size()) + " lines; at most " +
                                std::to_string(max_lines) + " in one request (serve.max_lines)");
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string())
          throw ApiError(400, name(key) + "[" + std::to_string(i) + "]: expected a string, got " + kind_of(v[i]));
        out.push_back(v[i].get<std::string>());
      }
    } else {
      throw ApiError(400, name(key) + ": expected a string or an array of strings, got " + kind_of(v));
    }
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i].find_first_of("\r\n") != std::string::npos)
        throw ApiError(400, name(key) + (single ? "" : "[" + std::to_string(i) + "]") +
                                ": contains a line break; send each line as its own array element");
    return out;
  }

 private:
  const json& j_;
  std::string where_;
  std::vector<std::string> known_;
};

size_t model_index(const Fields& f, const std::string& key, const TranslationService& s) {
  if (!f.has(key)) return 0;  // the first model (the only one, usually)
  std::string name = f.text(key);
  int i = s.find_model(name);
  if (i < 0) {
    std::string msg = f.name(key) + ": no model \"" + name + "\" (serving:";
    for (size_t k = 0; k < s.models().size(); ++k) msg += (k ? ", " : " ") + s.models()[k].name;
    throw ApiError(404, msg + ")");
  }
  return static_cast<size_t>(i);
}

// The decoding a request asks for, from the model's defaults.
void read_decoding(const Fields& f, const TranslationModel& m, const ServeConfig& limits, Job& job) {
  const DecodeConfig& d = m.first().config.decode;
  SearchOptions s = search_options(d);
  s.beam = f.integer("beam", 1, limits.max_beam, std::min(d.beam, limits.max_beam));
  s.nbest = f.integer("nbest", 1, s.beam, std::min(d.nbest, s.beam));
  s.length_penalty = f.number("length_penalty", 0.0, 10.0, d.length_penalty);
  s.max_len_ratio = f.number("max_len_ratio", 0.1, 100.0, d.max_len_ratio);
  job.options.search = s;
}

json decoding_json(const Job& j) {
  const SearchOptions& s = j.options.search;
  return {{"beam", s.beam},
          {"nbest", s.nbest},
          {"length_penalty", s.length_penalty},
          {"max_len_ratio", s.max_len_ratio},
          {"temperature", j.options.temperature}};
}

// An attention record as alignments.jsonl has it, with each row's band.
json attention_json(const AttentionRecord& r) {
  json a = r.to_json();
  json bands = json::array();
  for (double h : a["entropy"]) {
    for (const auto& b : entropy_bands())
      if (h < b.hi || std::isinf(b.hi)) {
        bands.push_back(b.name);
        break;
      }
  }
  a["entropy_band"] = bands;
  a.erase("id");
  return a;
}

}  // namespace

json parse_body(const std::string& body) {
  try {
    return json::parse(body);
  } catch (const json::parse_error& e) {
    std::string w = e.what();
    if (w.find("UTF-8") != std::string::npos || w.find("utf-8") != std::string::npos)
      throw ApiError(400, "body: text that is not valid UTF-8 at byte " + std::to_string(e.byte));
    auto pos = w.find("syntax error");
    throw ApiError(400, "body: malformed JSON at byte " + std::to_string(e.byte) + ": " +
                            (pos == std::string::npos ? w : w.substr(pos)));
  }
}

std::shared_ptr<Job> translate_job(const json& body, const TranslationService& service, const ServeConfig& limits) {
  Fields f(body, "",
           {"model", "src", "beam", "nbest", "length_penalty", "max_len_ratio", "temperature", "attention"});
  auto job = std::make_shared<Job>();
  job->kind = Job::Kind::translate;
  job->model = model_index(f, "model", service);
  bool single = false;
  job->src = f.lines("src", limits.max_lines, single);
  read_decoding(f, service.models()[job->model], limits, *job);
  job->options.temperature = f.number("temperature", 0.01, 100.0, 1.0);
  job->attention = f.flag("attention", false);
  return job;
}

std::shared_ptr<Job> score_job(const json& body, const TranslationService& service, const ServeConfig& limits) {
  Fields f(body, "", {"model", "src", "tgt", "temperature", "attention"});
  auto job = std::make_shared<Job>();
  job->kind = Job::Kind::score;
  job->model = model_index(f, "model", service);
  bool single_src = false, single_tgt = false;
  job->src = f.lines("src", limits.max_lines, single_src);
  job->tgt = f.lines("tgt", limits.max_lines, single_tgt);
  if (job->src.size() != job->tgt.size() || single_src != single_tgt)
    throw ApiError(400, "tgt: " + std::to_string(job->tgt.size()) + (single_tgt ? " string" : " lines") +
                            " for " + std::to_string(job->src.size()) + (single_src ? " string" : " lines") +
                            " of src (one target per source)");
  job->options.temperature = f.number("temperature", 0.01, 100.0, 1.0);
  job->attention = f.flag("attention", true) && service.models()[job->model].has_attention();
  return job;
}

json translate_answer(const Job& job, const TranslationService& service) {
  const TranslationModel& m = service.models()[job.model];
  json results = json::array();
  for (size_t i = 0; i < job.translated.size(); ++i) {
    const TranslatedLine& line = job.translated[i];
    json hyps = json::array();
    for (const Hypothesis& h : line.hyps) {
      json hj = {{"text", m.text().detokenize(h.tokens)},
                 {"tokens", m.text().target_tokens(h.tokens)},
                 {"score", h.score},
                 {"log_prob", h.log_prob},
                 {"token_log_probs", h.token_log_probs},
                 {"ended", h.ended}};
      if (job.attention && h.attention.defined())
        hj["attention"] = attention_json(hypothesis_record(m, static_cast<int>(i), line.src_tokens, h));
      hyps.push_back(std::move(hj));
    }
    results.push_back({{"src", job.src[i]}, {"src_tokens", line.src_tokens}, {"hypotheses", std::move(hyps)}});
  }
  return {{"model", m.name},
          {"has_attention", m.has_attention()},
          {"decoding", decoding_json(job)},
          {"results", std::move(results)}};
}

json score_answer(const Job& job, const TranslationService& service) {
  const TranslationModel& m = service.models()[job.model];
  json results = json::array();
  for (size_t i = 0; i < job.scored.size(); ++i) {
    const ScoredPair& p = job.scored[i];
    json r = {{"src", job.src[i]}, {"tgt", job.tgt[i]}, {"src_tokens", p.src_tokens}, {"tgt_tokens", p.tgt_tokens}};
    if (p.scored) {
      const SentenceScore& s = p.score;
      r["log_prob"] = s.log_prob;
      r["tokens"] = s.tokens;
      r["per_token"] = s.log_prob / static_cast<double>(s.tokens);
      r["token_log_probs"] = s.token_log_probs;
      if (s.attention.defined()) r["attention"] = attention_json(forced_record(m, static_cast<int>(i), p));
    }
    results.push_back(std::move(r));
  }
  return {{"model", m.name},
          {"has_attention", m.has_attention()},
          {"temperature", job.options.temperature},
          {"results", std::move(results)}};
}

std::shared_ptr<Job> onmt_job(const json& body, const TranslationService& service, const ServeConfig& limits) {
  if (!body.is_array()) throw ApiError(400, "body: expected an array of {\"src\": TEXT, \"id\": MODEL}, got " +
                                                kind_of(body));
  if (body.empty()) throw ApiError(400, "body: an empty array (give at least one {\"src\": TEXT})");
  if (body.size() > static_cast<size_t>(limits.max_lines))
    throw ApiError(400, "body: " + std::to_string(body.size()) + " lines; at most " +
                            std::to_string(limits.max_lines) + " in one request (serve.max_lines)");
  auto job = std::make_shared<Job>();
  job->kind = Job::Kind::translate;
  for (size_t i = 0; i < body.size(); ++i) {
    const std::string where = "[" + std::to_string(i) + "]";
    Fields f(body[i], where, {"src", "id"});
    if (!f.has("src")) throw ApiError(400, where + ".src: missing");
    std::string src = f.text("src");
    if (src.find_first_of("\r\n") != std::string::npos)
      throw ApiError(400, where + ".src: contains a line break; send each line as its own element");
    job->src.push_back(src);
    // OpenNMT-py's model ids are numbers; here: a model's name or its position.
    size_t model = 0;
    if (f.has("id")) {
      const json& id = body[i]["id"];
      if (id.is_number_integer() && id.get<int64_t>() >= 0 &&
          id.get<int64_t>() < static_cast<int64_t>(service.models().size()))
        model = id.get<size_t>();
      else if (id.is_string() && service.find_model(id.get<std::string>()) >= 0)
        model = static_cast<size_t>(service.find_model(id.get<std::string>()));
      else
        throw ApiError(404, where + ".id: no model " + id.dump() + " (a model's name, or its position from 0 to " +
                                std::to_string(service.models().size() - 1) + ")");
    }
    if (i > 0 && model != job->model) throw ApiError(400, where + ".id: every entry of one request names one model");
    job->model = model;
  }
  const json none = json::object();  // its requests carry no decoding options: the model's defaults
  read_decoding(Fields(none, "", {}), service.models()[job->model], limits, *job);
  return job;
}

json onmt_answer(const Job& job, const TranslationService& service) {
  const TranslationModel& m = service.models()[job.model];
  json out = json::array();
  for (size_t i = 0; i < job.translated.size(); ++i) {
    const auto& hyps = job.translated[i].hyps;
    if (hyps.empty()) {
      out.push_back({{"src", job.src[i]}, {"tgt", ""}, {"n_best", 1}, {"pred_score", 0.0}});
      continue;
    }
    for (const Hypothesis& h : hyps)
      out.push_back({{"src", job.src[i]},
                     {"tgt", m.text().detokenize(h.tokens)},
                     {"n_best", static_cast<int>(hyps.size())},
                     {"pred_score", h.score}});
  }
  return json::array({out});
}

json models_answer(const TranslationService& service, const ServeConfig& limits) {
  json models = json::array();
  for (const TranslationModel& m : service.models()) {
    const Config& c = m.first().config;
    json cks = json::array();
    for (const Checkpoint& ck : m.checkpoints)
      cks.push_back({{"path", ck.path},
                     {"step", ck.trainer_state.value("step", 0)},
                     {"summary", model_summary(ck.config.model)}});
    const DecodeConfig& d = c.decode;
    models.push_back({{"name", m.name},
                      {"type", c.model.type},
                      {"score", m.has_attention() ? json(c.model.attention.score) : json(nullptr)},
                      {"summary", m.summary},
                      {"has_attention", m.has_attention()},
                      {"parameters", m.parameters()},
                      {"src_vocab", m.text().src_vocab.size()},
                      {"tgt_vocab", m.text().tgt_vocab.size()},
                      {"tokenizer", m.text().src_tok->kind()},
                      {"max_src_tokens", m.max_source_tokens ? std::min<size_t>(m.max_source_tokens,
                                                                                static_cast<size_t>(limits.max_src_tokens))
                                                             : static_cast<size_t>(limits.max_src_tokens)},
                      {"checkpoints", cks},
                      {"decoding",
                       {{"beam", std::min(d.beam, limits.max_beam)},
                        {"nbest", d.nbest},
                        {"length_penalty", d.length_penalty},
                        {"max_len_ratio", d.max_len_ratio},
                        {"temperature", 1.0}}}});
  }
  json bands = json::array();
  for (const auto& b : entropy_bands())
    bands.push_back({{"name", b.name}, {"meaning", b.meaning}, {"lo", b.lo}, {"hi", std::isinf(b.hi) ? json(nullptr) : json(b.hi)}});
  return {{"models", models},
          {"entropy_bands", bands},
          {"limits",
           {{"max_lines", limits.max_lines},
            {"max_beam", limits.max_beam},
            {"max_src_tokens", limits.max_src_tokens},
            {"max_body_bytes", static_cast<int64_t>(limits.max_body_kb) * 1024},
            {"temperature", {0.01, 100.0}}}}};
}

}  // namespace attn::serve
