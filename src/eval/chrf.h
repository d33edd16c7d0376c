// chrF as sacreBLEU 2.x computes it by default: character n-grams up to 6,
// whitespace removed, statistics summed over the corpus, precision and
// recall averaged over the orders that occur, then F-beta (beta = 2).
#pragma once
#include <string>
#include <vector>

namespace attn {

double corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::string>& refs, int char_order = 6,
                   double beta = 2.0);

}  // namespace attn
