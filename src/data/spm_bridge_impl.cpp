// Built into libattn_spm_bridge.so only; never linked with torch.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

// Exported by libsentencepiece but not declared in its public headers.
namespace sentencepiece::logging {
void SetMinLogLevel(int v);
}  // namespace sentencepiece::logging

namespace {

int copy_out(const std::string& s, char* out, int out_len) {
  if (out && out_len > 0) {
    size_t n = std::min(s.size(), static_cast<size_t>(out_len - 1));
    std::memcpy(out, s.data(), n);
    out[n] = '\0';
  }
  return static_cast<int>(s.size()) + 1;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int attn_spm_train(const char* args, char* err, int err_len) {
  sentencepiece::logging::SetMinLogLevel(2);  // its progress lines would flood our log; errors still come back
  auto st = sentencepiece::SentencePieceTrainer::Train(args);
  if (!st.ok()) {
    copy_out(st.ToString(), err, err_len);
    return 1;
  }
  return 0;
}

__attribute__((visibility("default"))) void* attn_spm_load(const char* bytes, size_t len, char* err,
                                                            int err_len) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  auto st = sp->LoadFromSerializedProto(std::string(bytes, len));
  if (!st.ok()) {
    copy_out(st.ToString(), err, err_len);
    delete sp;
    return nullptr;
  }
  return sp;
}

__attribute__((visibility("default"))) void attn_spm_free(void* h) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(h);
}

__attribute__((visibility("default"))) int attn_spm_encode(void* h, const char* text, char* out, int out_len) {
  std::vector<std::string> pieces;
  static_cast<sentencepiece::SentencePieceProcessor*>(h)->Encode(text, &pieces);
  std::string s;
  for (size_t i = 0; i < pieces.size(); ++i) s += (i ? "\n" : "") + pieces[i];
  return copy_out(s, out, out_len);
}

__attribute__((visibility("default"))) int attn_spm_decode(void* h, const char* pieces, char* out,
                                                            int out_len) {
  std::vector<std::string> v;
  std::stringstream ss(pieces);
  std::string p;
  while (std::getline(ss, p, '\n'))
    if (!p.empty()) v.push_back(p);
  std::string text;
  static_cast<sentencepiece::SentencePieceProcessor*>(h)->Decode(v, &text);
  return copy_out(text, out, out_len);
}

__attribute__((visibility("default"))) int attn_spm_pieces(void* h, char* out, int out_len) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(h);
  std::string s;
  for (int i = 0; i < sp->GetPieceSize(); ++i) s += (i ? "\n" : "") + sp->IdToPiece(i);
  return copy_out(s, out, out_len);
}

}  // extern "C"
