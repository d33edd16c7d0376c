// Token <-> id mapping with the four special symbols at fixed ids.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

namespace attn {

class Vocab {
 public:
  static constexpr int kPad = 0, kUnk = 1, kBos = 2, kEos = 3;
  static const std::vector<std::string>& specials();

  Vocab();  // specials only
  // Count tokens, keep those seen >= min_freq, most frequent first (ties by
  // text, so the result does not depend on hash order), capped at max_size
  // (0: no cap; the cap counts the specials).
  static Vocab build(const std::vector<std::vector<std::string>>& sentences, int min_freq, int max_size);
  static Vocab from_tokens(const std::vector<std::string>& tokens);  // specials prepended if absent

  int id(const std::string& token) const;
  const std::string& token(int id) const { return tokens_.at(static_cast<size_t>(id)); }
  int size() const { return static_cast<int>(tokens_.size()); }
  std::vector<int> encode(const std::vector<std::string>& tokens) const;
  // Stops at EOS, skips PAD/BOS.
  std::vector<std::string> decode(const std::vector<int>& ids) const;
  const std::vector<std::string>& tokens() const { return tokens_; }

  nlohmann::json to_json() const { return tokens_; }
  static Vocab from_json(const nlohmann::json& j);
  bool operator==(const Vocab& o) const { return tokens_ == o.tokens_; }

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int> index_;
};

}  // namespace attn
