#include "data/pipeline.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include "data/toy.h"
#include "util/errors.h"
#include "util/run_dir.h"
#include "util/text_file.h"

namespace fs = std::filesystem;

namespace attn {

std::string TextModel::detokenize(const std::vector<int>& ids) const { return tgt_tok->decode(tgt_vocab.decode(ids)); }

nlohmann::json TextModel::to_json() const {
  return {{"tokenizer", src_tok->kind()}, {"src_vocab", src_vocab.to_json()}, {"tgt_vocab", tgt_vocab.to_json()}};
}

Config materialise_toy_data(const Config& c0, const std::string& dir) {
  Config c = c0;
  const ToyConfig& t = c.data.toy;
  if (t.task.empty()) return c;
  std::string d = (fs::path(dir) / "data").string();
  std::string stamp_path = d + "/toy.json";
  json stamp = config_to_json(c)["data"]["toy"];
  stamp["generator"] = 2;  // 2: toy-translate's "the" has possible links to its noun phrase
  bool fresh = true;
  if (fs::exists(stamp_path)) {
    try {
      fresh = json::parse(read_file(stamp_path)) != stamp;
    } catch (...) {
      fresh = true;
    }
  }
  if (fresh) {
    auto mk = [&](int n, int lo, int hi, uint64_t seed, const std::unordered_set<std::string>* excl) {
      return make_toy({t.task, n, lo, hi, t.vocab, seed}, excl);
    };
    auto train = mk(t.n_train, t.min_len, t.max_len, static_cast<uint64_t>(t.seed), nullptr);
    std::unordered_set<std::string> seen;
    for (const auto& e : train) seen.insert(join(e.src));
    auto valid = mk(t.n_valid, t.min_len, t.max_len, static_cast<uint64_t>(t.seed) + 1, &seen);
    for (const auto& e : valid) seen.insert(join(e.src));
    auto test = mk(t.n_test, t.test_min_len, t.test_max_len, static_cast<uint64_t>(t.seed) + 2, &seen);
    write_toy(train, d + "/train");
    write_toy(valid, d + "/valid");
    write_toy(test, d + "/test");
    write_file_atomic(stamp_path, stamp.dump(2) + "\n");
  }
  c.data.train_src = d + "/train.src";
  c.data.train_tgt = d + "/train.tgt";
  c.data.valid_src = d + "/valid.src";
  c.data.valid_tgt = d + "/valid.tgt";
  c.data.valid_align = d + "/valid.align";
  c.data.test_src = d + "/test.src";
  c.data.test_tgt = d + "/test.tgt";
  c.data.test_align = d + "/test.align";
  c.data.max_src_len = std::max(c.data.max_src_len, std::max(t.max_len, t.test_max_len) * 2);
  c.data.max_tgt_len = std::max(c.data.max_tgt_len, std::max(t.max_len, t.test_max_len) * 3);
  return c;
}

Vocab read_vocab(const std::string& path) {
  auto lines = read_lines(path);
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& t = lines[i];
    const std::string at = path + ":" + std::to_string(i + 1) + ": ";
    if (t.empty()) throw DataError(at + "empty line; a vocabulary file has one token per line");
    if (split_ws(t).size() != 1 || split_ws(t)[0] != t) throw DataError(at + "\"" + t + "\" is not one token");
    auto [it, fresh] = seen.emplace(t, i + 1);
    if (!fresh) throw DataError(at + "\"" + t + "\" is already on line " + std::to_string(it->second));
  }
  const auto& sp = Vocab::specials();
  for (size_t k = 0; k < sp.size(); ++k) {
    auto it = seen.find(sp[k]);
    if (it != seen.end() && it->second != k + 1)
      throw DataError(path + ":" + std::to_string(it->second) + ": " + sp[k] + " must be on line " +
                      std::to_string(k + 1) + " (or absent): ids 0-3 are the special symbols");
  }
  return Vocab::from_tokens(lines);
}

TextModel build_text_model(const Config& c, const std::vector<TextPair>& train, const std::string& dir,
                           bool reuse_existing) {
  TextModel tm;
  if (c.data.tokenizer == "spm") {
    const auto& s = c.data.spm;
    auto train_one = [&](const std::vector<std::string>& inputs, const std::string& name) {
      const std::string& given = name == "joint" ? s.model : name == "src" ? s.src_model : s.tgt_model;
      if (!given.empty()) return std::make_shared<SpmTokenizer>(read_file(given));  // another run's: same pieces
      SpmTrainOptions o;
      o.inputs = inputs;
      o.model_prefix = (fs::path(RunDir(dir).spm()) / name).string();
      o.model_type = s.model_type;
      o.vocab_size = s.vocab_size;
      o.character_coverage = s.character_coverage;
      if (reuse_existing && fs::exists(o.model_prefix + ".model"))
        return std::make_shared<SpmTokenizer>(read_file(o.model_prefix + ".model"));
      spdlog::info("training sentencepiece model {} ({} {}, vocab {})", o.model_prefix + ".model", s.model_type,
                   s.joint ? "joint" : "separate", s.vocab_size);
      return std::make_shared<SpmTokenizer>(read_file(train_spm(o)));
    };
    if (s.joint) {
      tm.src_tok = tm.tgt_tok = train_one({c.data.train_src, c.data.train_tgt}, "joint");
    } else {
      tm.src_tok = train_one({c.data.train_src}, "src");
      tm.tgt_tok = train_one({c.data.train_tgt}, "tgt");
    }
    tm.src_vocab = Vocab::from_tokens(tm.src_tok->pieces());
    tm.tgt_vocab = Vocab::from_tokens(tm.tgt_tok->pieces());
    return tm;
  }
  tm.src_tok = tm.tgt_tok = std::make_shared<WhitespaceTokenizer>();
  const auto& d = c.data;
  std::vector<std::vector<std::string>> src, tgt;
  src.reserve(train.size());
  tgt.reserve(train.size());
  for (const auto& p : train) {
    src.push_back(split_ws(p.src));
    tgt.push_back(split_ws(p.tgt));
  }
  if (d.joint_vocab) {
    src.insert(src.end(), tgt.begin(), tgt.end());
    tm.src_vocab = tm.tgt_vocab = Vocab::build(src, d.vocab_min_freq, d.vocab_max_size);
    return tm;
  }
  tm.src_vocab = d.src_vocab.empty() ? Vocab::build(src, d.vocab_min_freq, d.vocab_max_size) : read_vocab(d.src_vocab);
  tm.tgt_vocab = d.tgt_vocab.empty() ? Vocab::build(tgt, d.vocab_min_freq, d.vocab_max_size) : read_vocab(d.tgt_vocab);
  return tm;
}

Corpus load_corpus(const std::string& src, const std::string& tgt, const TextModel& tm, bool skip_empty,
                   int max_src, int max_tgt, ReadStats* stats) {
  ReadStats st;
  auto pairs = read_parallel(src, tgt, skip_empty, &st);
  Corpus c = encode_corpus(pairs, *tm.src_tok, *tm.tgt_tok, tm.src_vocab, tm.tgt_vocab, max_src, max_tgt, &st);
  if (stats) *stats = st;
  return c;
}

}  // namespace attn
