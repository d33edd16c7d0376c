#include "data/corpus.h"

#include "util/errors.h"
#include "util/text_file.h"

namespace attn {

namespace {
bool blank(const std::string& s) { return s.find_first_not_of(" \t") == std::string::npos; }
}  // namespace

std::vector<TextPair> read_parallel(const std::string& src_path, const std::string& tgt_path, bool skip_empty,
                                    ReadStats* stats) {
  auto src = read_lines(src_path);
  auto tgt = read_lines(tgt_path);
  if (src.size() != tgt.size())
    throw DataError(src_path + " has " + std::to_string(src.size()) + " lines but " + tgt_path + " has " +
                    std::to_string(tgt.size()) + "; parallel files must have the same number of lines");
  std::vector<TextPair> out;
  out.reserve(src.size());
  ReadStats st;
  st.lines = static_cast<int>(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    int line = static_cast<int>(i + 1);
    bool es = blank(src[i]), et = blank(tgt[i]);
    if (es || et) {
      if (!skip_empty)
        throw DataError((es ? src_path : tgt_path) + ":" + std::to_string(line) +
                        ": empty line (set data.skip_empty=true to skip such pairs)");
      ++st.empty;
      continue;
    }
    out.push_back({std::move(src[i]), std::move(tgt[i]), line});
  }
  if (stats) *stats = st;
  return out;
}

Corpus encode_corpus(const std::vector<TextPair>& pairs, const Tokenizer& src_tok, const Tokenizer& tgt_tok,
                     const Vocab& src_vocab, const Vocab& tgt_vocab, int max_src, int max_tgt, ReadStats* stats) {
  Corpus c;
  c.examples.reserve(pairs.size());
  for (const auto& p : pairs) {
    auto s = src_tok.encode(p.src);
    auto t = tgt_tok.encode(p.tgt);
    const bool src_long = max_src > 0 && static_cast<int>(s.size()) > max_src;
    const bool tgt_long = max_tgt > 0 && static_cast<int>(t.size()) > max_tgt;
    if (src_long || tgt_long || s.empty() || t.empty()) {
      if (stats) {
        if (src_long || tgt_long) {
          ++stats->too_long;
          stats->src_too_long += src_long;
          stats->tgt_too_long += tgt_long;
        } else {
          ++stats->no_tokens;
        }
      }
      continue;
    }
    c.examples.push_back({src_vocab.encode(s), tgt_vocab.encode(t), p.line});
    c.src_tokens.push_back(std::move(s));
    c.tgt_tokens.push_back(std::move(t));
    c.src_text.push_back(p.src);
    c.tgt_text.push_back(p.tgt);
  }
  return c;
}

std::string describe_drops(const ReadStats& st, int max_src, int max_tgt) {
  std::vector<std::string> parts, fixes;
  if (st.empty) parts.push_back(std::to_string(st.empty) + " with an empty line on one side");
  if (st.no_tokens) parts.push_back(std::to_string(st.no_tokens) + " with no tokens once tokenised");
  if (st.src_too_long) {
    parts.push_back(std::to_string(st.src_too_long) + " longer than data.max_src_len=" + std::to_string(max_src) +
                    " source tokens");
    fixes.push_back("data.max_src_len");
  }
  if (st.tgt_too_long) {
    parts.push_back(std::to_string(st.tgt_too_long) + " longer than data.max_tgt_len=" + std::to_string(max_tgt) +
                    " target tokens");
    fixes.push_back("data.max_tgt_len");
  }
  std::string s = "of " + std::to_string(st.lines) + " lines";
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? ", " : ": ") + parts[i];
  if (parts.empty()) s += ": none dropped";
  if (!fixes.empty()) s += "; raise " + fixes[0] + (fixes.size() > 1 ? " and " + fixes[1] : "");
  return s;
}

}  // namespace attn
