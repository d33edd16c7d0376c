#include "config/config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "config/registry.h"

namespace attn {

bool valid_device(const std::string& d) {
  if (d == "cpu" || d == "cuda") return true;
  if (d.rfind("cuda:", 0) != 0 || d.size() == 5 || d.size() > 8) return false;
  return std::all_of(d.begin() + 5, d.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

namespace {

std::string join_lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& p : v) s += (s.empty() ? "" : "\n") + p;
  return s;
}

std::string quoted_list(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    if (x.empty()) continue;
    s += (s.empty() ? "" : ", ") + x;
  }
  return s;
}

std::string type_name(const json& j) {
  return j.type_name();
}

// Reads one JSON object into a struct, collecting problems with their paths.
class Reader {
 public:
  Reader(const json& j, std::string path, std::vector<std::string>& problems)
      : j_(j), path_(std::move(path)), problems_(problems) {}

  template <class T>
  void num(const char* key, T& out, double lo, double hi, const char*) {
    const json* v = find(key);
    if (!v) return;
    bool ok = std::is_integral_v<T> ? v->is_number_integer() : v->is_number();
    if (!ok) {
      fail(key, std::string("expected ") + (std::is_integral_v<T> ? "an integer" : "a number") +
                    ", got " + v->dump());
      return;
    }
    double d = v->get<double>();
    if (d < lo || d > hi) {
      std::ostringstream os;
      os << v->dump() << " is out of range [" << lo << ", " << hi << "]";
      fail(key, os.str());
      return;
    }
    out = v->get<T>();
  }
  void flag(const char* key, bool& out, const char*) {
    const json* v = find(key);
    if (!v) return;
    if (!v->is_boolean()) return fail(key, "expected true or false, got " + v->dump());
    out = v->get<bool>();
  }
  void text(const char* key, std::string& out, const char*) {
    const json* v = find(key);
    if (!v) return;
    if (!v->is_string()) return fail(key, "expected a string, got " + v->dump());
    out = v->get<std::string>();
  }
  void choice(const char* key, std::string& out, const std::vector<std::string>& allowed, const char*) {
    const json* v = find(key);
    if (!v) return;
    if (!v->is_string()) return fail(key, "expected a string, got " + v->dump());
    std::string s = v->get<std::string>();
    if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
      std::string msg = "\"" + s + "\" is not one of " + quoted_list(allowed);
      std::string guess = did_you_mean(s, allowed);
      if (!guess.empty()) msg += " (did you mean \"" + guess + "\"?)";
      return fail(key, msg);
    }
    out = s;
  }
  template <class S>
  void section(const char* key, S& out, const char*) {
    const json* v = find(key);
    if (!v) return;
    if (!v->is_object()) return fail(key, "expected an object, got " + type_name(*v));
    Reader r(*v, join(key), problems_);
    out.visit(r);
    r.finish();
  }
  // Unknown keys are errors: a typo must not silently fall back to a default.
  void finish() {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (seen_.count(it.key())) continue;
      std::string msg = join(it.key()) + ": unknown key";
      std::string guess = did_you_mean(it.key(), std::vector<std::string>(seen_all_.begin(), seen_all_.end()));
      if (!guess.empty()) msg += " (did you mean \"" + guess + "\"?)";
      problems_.push_back(msg);
    }
  }

 private:
  const json* find(const char* key) {
    seen_all_.insert(key);
    auto it = j_.find(key);
    if (it == j_.end()) return nullptr;
    seen_.insert(key);
    return &*it;
  }
  std::string join(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  void fail(const char* key, const std::string& msg) { problems_.push_back(join(key) + ": " + msg); }

  const json& j_;
  std::string path_;
  std::vector<std::string>& problems_;
  std::set<std::string> seen_, seen_all_;
};

class Writer {
 public:
  explicit Writer(json& j) : j_(j) {}
  template <class T>
  void num(const char* key, T& v, double, double, const char*) { j_[key] = v; }
  void flag(const char* key, bool& v, const char*) { j_[key] = v; }
  void text(const char* key, std::string& v, const char*) { j_[key] = v; }
  void choice(const char* key, std::string& v, const std::vector<std::string>&, const char*) { j_[key] = v; }
  template <class S>
  void section(const char* key, S& s, const char*) {
    json sub = json::object();
    Writer w(sub);
    s.visit(w);
    j_[key] = sub;
  }

 private:
  json& j_;
};

// Collects keys, values and docs as a tree, then prints JSON with a `//`
// comment per key: the annotated defaults.
struct DocNode {
  std::string key, value, doc;
  std::vector<DocNode> children;
  bool is_section = false;
};

class DocWriter {
 public:
  explicit DocWriter(DocNode& n) : n_(n) {}
  template <class T>
  void num(const char* key, T& v, double lo, double hi, const char* doc) {
    std::ostringstream range;
    range << doc << " [" << lo << ", " << hi << "]";
    leaf(key, json(v).dump(), range.str());
  }
  void flag(const char* key, bool& v, const char* doc) { leaf(key, v ? "true" : "false", doc); }
  void text(const char* key, std::string& v, const char* doc) { leaf(key, json(v).dump(), doc); }
  void choice(const char* key, std::string& v, const std::vector<std::string>& allowed, const char* doc) {
    leaf(key, json(v).dump(), std::string(doc) + " {" + quoted_list(allowed) + "}");
  }
  template <class S>
  void section(const char* key, S& s, const char* doc) {
    DocNode child{key, "", doc, {}, true};
    DocWriter w(child);
    s.visit(w);
    n_.children.push_back(child);
  }

 private:
  void leaf(const char* key, const std::string& value, const std::string& doc) {
    n_.children.push_back({key, value, doc, {}, false});
  }
  DocNode& n_;
};

void print_doc(const DocNode& n, int indent, std::ostringstream& os) {
  std::string pad(indent, ' ');
  for (size_t i = 0; i < n.children.size(); ++i) {
    const DocNode& c = n.children[i];
    const char* comma = i + 1 < n.children.size() ? "," : "";
    if (c.is_section) {
      os << pad << json(c.key).dump() << ": {  // " << c.doc << "\n";
      print_doc(c, indent + 2, os);
      os << pad << "}" << comma << "\n";
    } else {
      os << pad << json(c.key).dump() << ": " << c.value << comma << "  // " << c.doc << "\n";
    }
  }
}

// Rules that involve more than one field.
void cross_check(const Config& c, std::vector<std::string>& p) {
  const auto& d = c.data;
  if (d.toy.task.empty()) {
    if (d.train_src.empty() != d.train_tgt.empty())
      p.push_back("data.train_src/train_tgt: give both or neither");
    if (d.valid_src.empty() != d.valid_tgt.empty())
      p.push_back("data.valid_src/valid_tgt: give both or neither");
  } else {
    if (d.toy.min_len > d.toy.max_len)
      p.push_back("data.toy.min_len: " + std::to_string(d.toy.min_len) + " is greater than max_len " +
                  std::to_string(d.toy.max_len));
    if (d.toy.test_min_len > d.toy.test_max_len)
      p.push_back("data.toy.test_min_len: " + std::to_string(d.toy.test_min_len) +
                  " is greater than test_max_len " + std::to_string(d.toy.test_max_len));
  }
  if (d.tokenizer == "spm" && !d.toy.task.empty())
    p.push_back("data.tokenizer: \"spm\" is for real text; toy tasks use \"whitespace\"");
  const auto check_model = [&](const ModelConfig& m, const std::string& at) {
    const auto& a = m.attention;
    if (m.maxout && (m.readout == 0 ? m.emb : m.readout) % 2 != 0)
      p.push_back(at + ".maxout: needs an even readout size");
    const ModelType* type = find_model_type(m.type);
    const AttentionScore* score = find_score(a.score);
    if (!type || !type->attention || !score) return;  // unknown names are reported where they are read
    if (!score->fits(m.type)) {
      std::vector<std::string> takes;
      for (const auto& s : attention_scores())
        if (s.fits(m.type)) takes.push_back(s.name);
      p.push_back(at + ".attention.score: the " + m.type + " decoder takes " + quoted_list(takes) + "; \"" + a.score +
                  "\" (" + score->summary + ") is for model.type " + quoted_list(score->decoders));
    }
    if (score->check) {
      std::string e = score->check(m, d);
      if (!e.empty()) p.push_back(at + ".attention." + e);
    }
    if (a.coverage && !type->coverage) {
      std::vector<std::string> with;
      for (const auto& t : model_types())
        if (t.coverage) with.push_back(t.name);
      p.push_back(at + ".attention.coverage: supported by model.type " + quoted_list(with) + " only");
    }
  };
  const auto check_tying = [&](const ModelConfig& m, const std::string& at) {
    if (m.tie_embeddings == "none") return;
    // The output layer maps the decoder's last features to the vocabulary;
    // tied, its matrix is the [V, emb] embedding.
    const ModelType* type = find_model_type(m.type);
    bool state = type && type->output_reads_state;
    int in = state ? m.dec_hidden : (m.readout == 0 ? m.emb : m.readout);
    const char* what = state ? "dec_hidden" : "readout";
    if (in != m.emb)
      p.push_back(at + ".tie_embeddings: the output layer reads " + what + " = " + std::to_string(in) +
                  " features but the embedding has emb = " + std::to_string(m.emb) + "; make them equal");
    if (m.tie_embeddings == "all" && d.tokenizer == "whitespace" && !d.joint_vocab)
      p.push_back(at + ".tie_embeddings: \"all\" needs one vocabulary for both sides: set data.joint_vocab");
    if (m.tie_embeddings == "all" && d.tokenizer == "spm" && !d.spm.joint)
      p.push_back(at + ".tie_embeddings: \"all\" needs one vocabulary for both sides: set data.spm.joint");
  };
  check_tying(c.model, "model");
  check_model(c.model, "model");
  for (size_t i = 0; i < c.compare.models.size(); ++i) {
    try {
      std::string at = "compare.models[" + std::to_string(i) + "].model";
      ModelConfig m = compare_model(c, c.compare.models[i]);
      check_model(m, at);
      check_tying(m, at);
    } catch (const ConfigError& e) {
      p.insert(p.end(), e.problems().begin(), e.problems().end());
    }
  }
  if (!valid_device(c.train.device))
    p.push_back("train.device: \"" + c.train.device + "\" is not cpu, cuda or cuda:N");
  else if (c.train.dist_backend == "nccl" && c.train.device.rfind("cuda", 0) != 0)
    p.push_back("train.dist_backend: nccl runs on CUDA devices; set train.device to cuda, or use gloo");
  if (d.tokenizer == "spm" && !(d.src_vocab.empty() && d.tgt_vocab.empty() && !d.joint_vocab))
    p.push_back("data.src_vocab/tgt_vocab/joint_vocab: for the whitespace tokenizer; with spm the vocabulary is "
                "the sentencepiece model's pieces");
  if (d.spm.joint && (!d.spm.src_model.empty() || !d.spm.tgt_model.empty()))
    p.push_back("data.spm.src_model/tgt_model: for separate models; a joint model is data.spm.model");
  if (!d.spm.joint && !d.spm.model.empty())
    p.push_back("data.spm.model: for a joint model; separate models are data.spm.src_model and tgt_model");
  if (d.joint_vocab && (!d.src_vocab.empty() || !d.tgt_vocab.empty()))
    p.push_back("data.joint_vocab: counts a vocabulary; with data.src_vocab/tgt_vocab files give one file for both");
  if (c.decode.nbest > c.decode.beam)
    p.push_back("decode.nbest: " + std::to_string(c.decode.nbest) + " is larger than decode.beam " +
                std::to_string(c.decode.beam));
  if (c.train.max_steps == 0 && c.train.max_epochs == 0 && c.train.max_minutes == 0 && c.train.patience == 0)
    p.push_back("train: no stopping rule; set max_steps, max_epochs, max_minutes or patience");
  if (c.train.schedule == "linear" && c.train.max_steps == 0 && c.train.max_minutes == 0)
    p.push_back("train.schedule: linear decays over a budget; set train.max_steps or train.max_minutes");
  if (c.train.schedule == "linear" && c.train.min_lr > c.train.lr)
    p.push_back("train.min_lr: linear falls from train.lr to min_lr, so min_lr must not exceed lr");
}

void read_compare(const json& j, CompareConfig& out, std::vector<std::string>& p) {
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "models" && it.key() != "parallel") {
      std::string msg = "compare." + it.key() + ": unknown key";
      auto g = did_you_mean(it.key(), {"models", "parallel"});
      if (!g.empty()) msg += " (did you mean \"" + g + "\"?)";
      p.push_back(msg);
    }
  if (j.contains("parallel")) {
    if (!j["parallel"].is_number_integer() || j["parallel"].get<int>() < 1 || j["parallel"].get<int>() > 64)
      p.push_back("compare.parallel: expected an integer in [1, 64], got " + j["parallel"].dump());
    else
      out.parallel = j["parallel"].get<int>();
  }
  if (!j.contains("models")) return;
  if (!j["models"].is_array()) {
    p.push_back("compare.models: expected an array of {\"name\", \"model\"} objects");
    return;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < j["models"].size(); ++i) {
    const json& m = j["models"][i];
    std::string at = "compare.models[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("name") || !m["name"].is_string()) {
      p.push_back(at + ": expected an object with a string \"name\"");
      continue;
    }
    CompareModel cm;
    cm.name = m["name"].get<std::string>();
    if (!names.insert(cm.name).second) p.push_back(at + ".name: \"" + cm.name + "\" is used twice");
    for (auto it = m.begin(); it != m.end(); ++it)
      if (it.key() != "name" && it.key() != "model") p.push_back(at + "." + it.key() + ": unknown key");
    if (m.contains("model")) {
      if (!m["model"].is_object())
        p.push_back(at + ".model: expected an object");
      else
        cm.model = m["model"];
    }
    out.models.push_back(cm);
  }
}

}  // namespace

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error(join_lines(problems)), problems_(std::move(problems)) {}

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  // The whole word, and its last part after '-' or '.' ("luong-gneral" -> "gneral").
  std::vector<std::string> forms = {word};
  auto cut = word.find_last_of("-.");
  if (cut != std::string::npos && cut + 1 < word.size()) forms.push_back(word.substr(cut + 1));
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    if (c.empty()) continue;
    for (const auto& f : forms) {
      size_t d = edit_distance(f, c);
      if (d <= std::max<size_t>(2, f.size() / 3) && d < best_d) {
        best_d = d;
        best = c;
      }
    }
  }
  return best;
}

namespace {
const std::vector<std::string> kSections = {"data", "model", "train", "decode", "output", "serve", "compare"};

// The sections the field visitor reads (compare has its own reader), each
// given to read(name, section) in order: strict and stored reading share it.
template <class Read>
void read_sections(Config& c, Read&& read) {
  read("data", c.data);
  read("model", c.model);
  read("train", c.train);
  read("decode", c.decode);
  read("output", c.output);
  read("serve", c.serve);
}

// Each optimiser's own learning rate when none is given (Adadelta at
// Adam's 0.001 does not learn).
void default_lr(const json& j, Config& c) {
  if (!j.contains("train") || !j["train"].is_object() || !j["train"].contains("lr"))
    c.train.lr = c.train.optimizer == "adadelta" ? 1.0 : c.train.optimizer == "sgd" ? 0.1 : 1e-3;
}
}  // namespace

Config config_from_stored_json(const json& j, std::vector<std::string>& warnings) {
  Config c;
  if (!j.is_object()) throw ConfigError({"(top level): expected a JSON object, got " + type_name(j)});
  std::vector<std::string> errors;
  auto read = [&](const char* key, auto& section) {
    if (!j.contains(key) || !j[key].is_object()) return;
    std::vector<std::string> problems;
    Reader r(j[key], key, problems);
    section.visit(r);
    r.finish();
    // The weights were made from the model section: a value it cannot take
    // would build another model. Anything else keeps its default.
    const bool model = std::string(key) == "model";
    for (auto& q : problems)
      (model && q.find(": unknown key") == std::string::npos ? errors : warnings).push_back(std::move(q));
  };
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find(kSections.begin(), kSections.end(), it.key()) == kSections.end())
      warnings.push_back(it.key() + ": unknown section");
  read_sections(c, read);
  default_lr(j, c);
  if (!errors.empty()) throw ConfigError(errors);
  return c;
}

Config config_from_json(const json& j) {
  std::vector<std::string> problems;
  Config c;
  if (!j.is_object()) throw ConfigError({"(top level): expected a JSON object, got " + type_name(j)});
  const std::vector<std::string>& sections = kSections;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (std::find(sections.begin(), sections.end(), it.key()) != sections.end()) {
      if (!it->is_object()) problems.push_back(it.key() + ": expected an object, got " + type_name(*it));
      continue;
    }
    std::string msg = it.key() + ": unknown section (expected one of " + quoted_list(sections) + ")";
    auto g = did_you_mean(it.key(), sections);
    if (!g.empty()) msg += " (did you mean \"" + g + "\"?)";
    problems.push_back(msg);
  }
  auto read = [&](const char* key, auto& section) {
    if (!j.contains(key) || !j[key].is_object()) return;
    Reader r(j[key], key, problems);
    section.visit(r);
    r.finish();
  };
  read_sections(c, read);
  if (j.contains("compare") && j["compare"].is_object()) read_compare(j["compare"], c.compare, problems);
  default_lr(j, c);
  // Rules across fields are checked even when single fields are wrong, so
  // one run of `config check` lists everything; a rule about a field that
  // already has a problem is left out (it would judge a default).
  std::vector<std::string> cross;
  cross_check(c, cross);
  const std::vector<std::string> per_field = problems;  // rules on one field may each say something
  for (const auto& x : cross) {
    std::string key = x.substr(0, x.find(':'));
    bool known = std::any_of(per_field.begin(), per_field.end(), [&](const std::string& q) {
      std::string bad = q.substr(0, q.find(':'));
      if (q.rfind(key + ":", 0) == 0 || q.rfind(key + ".", 0) == 0 || x.find(bad) != std::string::npos) return true;
      // the rule names the bad field by its last part ("max_len") within the same section
      std::string section = bad.substr(0, bad.find('.')), last = bad.substr(bad.rfind('.') + 1);
      return key.rfind(section, 0) == 0 && x.find(last, key.size()) != std::string::npos;
    });
    if (!known) problems.push_back(x);
  }
  if (!problems.empty()) throw ConfigError(problems);
  return c;
}

namespace {
// "LINE:COL" of byte offset `off` in text.
std::string line_col(const std::string& text, size_t off) {
  off = std::min(off, text.size());
  int line = 1, col = 1;
  for (size_t i = 0; i < off; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

// A parser callback that refuses a key given twice in one object (nlohmann
// would keep the last silently). Frames follow the nesting; the path names
// the key as a config path ("train.lr", "compare.models[1].name").
class DuplicateKeys {
 public:
  bool operator()(int, json::parse_event_t e, json& parsed) {
    using E = json::parse_event_t;
    if (e == E::object_start || e == E::array_start) {
      frames_.push_back({e == E::object_start, {}, "", 0});
    } else if (e == E::object_end || e == E::array_end) {
      frames_.pop_back();
      element_done();
    } else if (e == E::key) {
      Frame& f = frames_.back();
      f.key = parsed.get<std::string>();
      if (!f.keys.insert(f.key).second) throw ConfigError({path() + ": given twice in one object (which one counts?)"});
    } else if (e == E::value) {
      element_done();
    }
    return true;
  }

 private:
  struct Frame {
    bool object;
    std::set<std::string> keys;
    std::string key;
    int index;
  };
  void element_done() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }
  std::string path() const {
    std::string p;
    for (const auto& f : frames_)
      p += f.object ? (p.empty() ? "" : ".") + f.key : "[" + std::to_string(f.index) + "]";
    return p;
  }
  std::vector<Frame> frames_;
};
}  // namespace

Config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError({path + ": cannot open config file"});
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  json j;
  try {
    j = json::parse(text, DuplicateKeys(), true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // nlohmann reports a byte offset (one past the bad character); turn it into line:column.
    std::string what = e.what();
    auto pos = what.find("syntax error");
    throw ConfigError({path + ":" + line_col(text, e.byte ? e.byte - 1 : 0) + ": invalid JSON: " +
                       (pos == std::string::npos ? what : what.substr(pos))});
  } catch (const json::out_of_range& e) {
    // A number beyond a double ("1e400"): nlohmann names the text but not where it is.
    std::string what = e.what();
    auto q = what.find('\'');
    std::string number = q == std::string::npos ? "" : what.substr(q + 1, what.rfind('\'') - q - 1);
    size_t at = number.empty() ? std::string::npos : text.find(number);
    throw ConfigError({path + (at == std::string::npos ? "" : ":" + line_col(text, at)) + ": number " + number +
                       " is too large for a double"});
  } catch (const ConfigError& e) {
    throw ConfigError({path + ": " + e.problems().front()});
  }
  try {
    return config_from_json(j);
  } catch (const ConfigError& e) {
    std::vector<std::string> p;
    for (const auto& x : e.problems()) p.push_back(path + ": " + x);
    throw ConfigError(p);
  }
}

json config_to_json(const Config& c0) {
  Config c = c0;  // visitors take non-const references
  json j = json::object();
  auto write = [&](const char* key, auto& section) {
    json sub = json::object();
    Writer w(sub);
    section.visit(w);
    j[key] = sub;
  };
  write("data", c.data);
  write("model", c.model);
  write("train", c.train);
  write("decode", c.decode);
  write("output", c.output);
  write("serve", c.serve);
  if (!c.compare.models.empty()) {
    json models = json::array();
    for (const auto& m : c.compare.models) models.push_back({{"name", m.name}, {"model", m.model}});
    j["compare"] = {{"models", models}, {"parallel", c.compare.parallel}};
  }
  return j;
}

std::string annotated_defaults() {
  Config c;
  DocNode root;
  DocWriter top(root);
  top.section("data", c.data, "corpora, tokenisation, batching");
  top.section("model", c.model, "architecture");
  top.section("train", c.train, "optimisation, validation, checkpoints");
  top.section("decode", c.decode, "greedy / beam search");
  top.section("output", c.output, "run directory and reports");
  top.section("serve", c.serve, "attn serve: address, limits, batching");
  // compare has no field list (its models are free-form changes to "model").
  DocNode cmp{"compare", "", "attn compare: models trained on one corpus and reported side by side", {}, true};
  cmp.children.push_back({"models", "[]",
                          "[{\"name\": N, \"model\": {changes to the model section}}]; empty: bottleneck, "
                          "bahdanau and luong-general",
                          {}, false});
  cmp.children.push_back({"parallel", std::to_string(c.compare.parallel), "training processes at once [1, 64]", {}, false});
  root.children.push_back(cmp);
  std::ostringstream os;
  os << "// attn configuration: every key with its default. Comments are allowed.\n{\n";
  print_doc(root, 2, os);
  os << "}\n";
  return os.str();
}

void apply_overrides(json& j, const std::vector<std::string>& sets) {
  std::vector<std::string> problems;
  for (const auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      problems.push_back("--set " + s + ": expected key.path=value");
      continue;
    }
    std::string path = s.substr(0, eq), value = s.substr(eq + 1);
    json v;
    try {
      v = json::parse(value);
    } catch (...) {
      v = value;  // bare words are strings
    }
    json* node = &j;
    std::stringstream ps(path);
    std::string part;
    std::vector<std::string> parts;
    while (std::getline(ps, part, '.')) parts.push_back(part);
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      if (!node->contains(parts[i])) (*node)[parts[i]] = json::object();
      node = &(*node)[parts[i]];
      if (!node->is_object()) {
        problems.push_back("--set " + s + ": " + parts[i] + " is not a section");
        node = nullptr;
        break;
      }
    }
    if (node) (*node)[parts.back()] = v;
  }
  if (!problems.empty()) throw ConfigError(problems);
}

ModelConfig compare_model(const Config& c, const CompareModel& m) {
  Config tmp = c;
  json base = config_to_json(tmp)["model"];
  base.merge_patch(m.model);
  std::vector<std::string> problems;
  ModelConfig out;
  Reader r(base, "compare.models." + m.name + ".model", problems);
  out.visit(r);
  r.finish();
  if (!problems.empty()) throw ConfigError(problems);
  return out;
}

std::string model_summary(const ModelConfig& m) {
  if (!attends(m)) return m.type + " (no attention)";
  std::string s = m.type + ", " + m.attention.score + " attention";
  if (m.type == "luong" && m.input_feeding) s += ", input feeding";
  if (m.attention.coverage) s += ", coverage";
  return s;
}

}  // namespace attn
