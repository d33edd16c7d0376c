// Text <-> tokens. Whitespace splitting for toy tasks, sentencepiece for real text.
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace attn {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<std::string> encode(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<std::string>& tokens) const = 0;
  virtual std::string kind() const = 0;
  // Serialized model (empty for whitespace): stored in checkpoints.
  virtual std::string model_bytes() const { return {}; }
  // All tokens the model can produce (sentencepiece only): the vocabulary.
  virtual std::vector<std::string> pieces() const { return {}; }
};

class WhitespaceTokenizer : public Tokenizer {
 public:
  std::vector<std::string> encode(const std::string& text) const override;
  std::string decode(const std::vector<std::string>& tokens) const override;
  std::string kind() const override { return "whitespace"; }
};

// Sentencepiece through the bridge library (see spm_bridge.h).
class SpmTokenizer : public Tokenizer {
 public:
  explicit SpmTokenizer(std::string model_bytes);
  ~SpmTokenizer() override;
  SpmTokenizer(const SpmTokenizer&) = delete;
  SpmTokenizer& operator=(const SpmTokenizer&) = delete;
  std::vector<std::string> encode(const std::string& text) const override;
  std::string decode(const std::vector<std::string>& tokens) const override;
  std::string kind() const override { return "spm"; }
  std::string model_bytes() const override { return bytes_; }
  std::vector<std::string> pieces() const override;

 private:
  std::string bytes_;
  void* handle_ = nullptr;
};

struct SpmTrainOptions {
  std::vector<std::string> inputs;  // text files (plain; gz is unpacked first)
  std::string model_prefix;         // writes PREFIX.model and PREFIX.vocab
  std::string model_type = "unigram";
  int vocab_size = 8000;
  double character_coverage = 1.0;
};
// Train a sentencepiece model; returns the path of PREFIX.model.
std::string train_spm(const SpmTrainOptions& o);

std::unique_ptr<Tokenizer> make_tokenizer(const std::string& kind, const std::string& model_bytes);

}  // namespace attn
