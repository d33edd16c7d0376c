// The comparison page of `attn compare`: one row per test sentence, every
// model's attention map beside the others at the same scale, with the source,
// the reference and each output (wrong tokens marked), so models can be
// compared sentence by sentence rather than page by page.
#pragma once
#include <string>
#include <vector>

#include "eval/attention_record.h"

namespace attn {

// One model's decoding of the test set, in corpus order.
struct PageModel {
  std::string name;                      // "bahdanau"
  std::string summary;                   // model_summary(): "bahdanau, additive attention"
  std::vector<AttentionRecord> records;  // output tokens, weights (undefined without attention), gold
};

// Which sentences to show, at most n, in source-length order: sentences on
// which the models disagree (one right, another wrong), then sentences some
// model gets wrong, then a spread of lengths, about a third each.
// references[i]: the reference's tokens of sentence i.
std::vector<size_t> pick_comparison_sentences(const std::vector<PageModel>& models,
                                              const std::vector<std::vector<std::string>>& references, int n);

// The page: an index table (source length, per model right/wrong and mean
// entropy, each linking to its row), then the rows.
std::string comparison_html(const std::string& title, const std::vector<PageModel>& models,
                            const std::vector<std::vector<std::string>>& references, const std::vector<size_t>& show,
                            const std::string& scale = "linear");

}  // namespace attn
