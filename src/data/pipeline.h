// From a config to tokenizers, vocabularies and encoded corpora: generate
// toy data if asked, train sentencepiece or count a whitespace vocabulary.
#pragma once
#include <memory>
#include <string>

#include "config/config.h"
#include "data/corpus.h"
#include "data/tokenizer.h"
#include "data/vocab.h"

namespace attn {

struct TextModel {
  std::shared_ptr<Tokenizer> src_tok, tgt_tok;
  Vocab src_vocab, tgt_vocab;
  // Ids -> text: vocabulary, then detokenisation.
  std::string detokenize(const std::vector<int>& ids) const;
  std::vector<std::string> target_tokens(const std::vector<int>& ids) const { return tgt_vocab.decode(ids); }
  nlohmann::json to_json() const;  // vocabularies and tokenizer kind (spm bytes saved separately)
};

// If data.toy.task is set, write train/valid/test(.src/.tgt/.align) under
// DIR/data (skipped if already there from an earlier run with the same
// config) and point the data paths at them. Returns the resolved config.
Config materialise_toy_data(const Config& c, const std::string& dir);

// A vocabulary file, one token per line (what training writes as
// vocab.src.txt / vocab.tgt.txt); the special symbols first or absent.
// DataError names the file and line of an empty, repeated or spaced token.
Vocab read_vocab(const std::string& path);

// Tokenizers and vocabularies from the training pairs (spm models are
// trained into DIR/spm when the tokenizer is "spm"; with reuse_existing, a
// model already there is loaded instead: what data-parallel ranks do after
// rank 0 trained it).
TextModel build_text_model(const Config& c, const std::vector<TextPair>& train, const std::string& dir,
                           bool reuse_existing = false);

// A corpus read, checked and encoded; length limits 0 = none.
Corpus load_corpus(const std::string& src, const std::string& tgt, const TextModel& tm, bool skip_empty,
                   int max_src, int max_tgt, ReadStats* stats = nullptr);

}  // namespace attn
