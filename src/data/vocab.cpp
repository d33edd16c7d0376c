#include "data/vocab.h"

#include <algorithm>
#include <map>

#include "util/errors.h"

namespace attn {

const std::vector<std::string>& Vocab::specials() {
  static const std::vector<std::string> s = {"<pad>", "<unk>", "<s>", "</s>"};
  return s;
}

Vocab::Vocab() : tokens_(specials()) {
  for (size_t i = 0; i < tokens_.size(); ++i) index_[tokens_[i]] = static_cast<int>(i);
}

Vocab Vocab::build(const std::vector<std::vector<std::string>>& sentences, int min_freq, int max_size) {
  std::unordered_map<std::string, long> counts;
  for (const auto& s : sentences)
    for (const auto& t : s) ++counts[t];
  std::vector<std::pair<std::string, long>> items(counts.begin(), counts.end());
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> toks;
  for (const auto& [t, c] : items) {
    if (c < min_freq) break;
    if (max_size > 0 && static_cast<int>(toks.size() + specials().size()) >= max_size) break;
    toks.push_back(t);
  }
  return from_tokens(toks);
}

Vocab Vocab::from_tokens(const std::vector<std::string>& tokens) {
  Vocab v;
  for (const auto& t : tokens) {
    if (v.index_.count(t)) continue;
    v.index_[t] = static_cast<int>(v.tokens_.size());
    v.tokens_.push_back(t);
  }
  return v;
}

int Vocab::id(const std::string& token) const {
  auto it = index_.find(token);
  return it == index_.end() ? kUnk : it->second;
}

std::vector<int> Vocab::encode(const std::vector<std::string>& tokens) const {
  std::vector<int> ids;
  ids.reserve(tokens.size());
  for (const auto& t : tokens) ids.push_back(id(t));
  return ids;
}

std::vector<std::string> Vocab::decode(const std::vector<int>& ids) const {
  std::vector<std::string> out;
  for (int i : ids) {
    if (i == kEos) break;
    if (i == kPad || i == kBos) continue;
    out.push_back(token(i));
  }
  return out;
}

Vocab Vocab::from_json(const nlohmann::json& j) {
  if (!j.is_array()) throw DataError("vocabulary: expected a JSON array of tokens");
  auto toks = j.get<std::vector<std::string>>();
  if (toks.size() < specials().size() || !std::equal(specials().begin(), specials().end(), toks.begin()))
    throw DataError("vocabulary: does not start with the special symbols <pad> <unk> <s> </s>");
  return from_tokens(toks);
}

}  // namespace attn
