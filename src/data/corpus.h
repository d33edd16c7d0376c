// Parallel corpora: read, check, tokenise, encode, filter.
#pragma once
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "data/vocab.h"

namespace attn {

struct Example {
  std::vector<int> src, tgt;  // ids without specials (EOS/BOS are added in batches)
  int line = 0;               // 1-based line in the files it came from
};

struct TextPair {
  std::string src, tgt;
  int line = 0;
};

struct ReadStats {
  int lines = 0;
  int empty = 0;     // skipped because one side was empty
  int too_long = 0;  // dropped by the length filter (either side)
  int src_too_long = 0, tgt_too_long = 0;  // of those, too long on that side (a pair may count in both)
  int no_tokens = 0;  // dropped because a side has no tokens once tokenised
};

// Both files, line by line. Errors name the file and line: missing file,
// different line counts (both given), invalid UTF-8, an empty line when
// skip_empty is false.
std::vector<TextPair> read_parallel(const std::string& src_path, const std::string& tgt_path, bool skip_empty,
                                    ReadStats* stats = nullptr);

struct Corpus {
  std::vector<Example> examples;
  std::vector<std::vector<std::string>> src_tokens, tgt_tokens;  // as segmented, parallel to examples
  std::vector<std::string> src_text, tgt_text;                   // raw lines (references for BLEU)
  size_t size() const { return examples.size(); }
};

// Tokenise, encode; drop pairs longer than the limits (0 = no limit).
Corpus encode_corpus(const std::vector<TextPair>& pairs, const Tokenizer& src_tok, const Tokenizer& tgt_tok,
                     const Vocab& src_vocab, const Vocab& tgt_vocab, int max_src = 0, int max_tgt = 0,
                     ReadStats* stats = nullptr);

// What the filters dropped, for "no usable pairs": "of 100 lines, 100 longer
// than data.max_src_len=2 source tokens; raise data.max_src_len".
std::string describe_drops(const ReadStats& st, int max_src, int max_tgt);

}  // namespace attn
