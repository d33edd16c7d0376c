#include "data/tokenizer.h"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "data/spm_bridge.h"
#include "util/errors.h"
#include "util/text_file.h"

namespace attn {

std::vector<std::string> WhitespaceTokenizer::encode(const std::string& text) const { return split_ws(text); }
std::string WhitespaceTokenizer::decode(const std::vector<std::string>& tokens) const { return join(tokens); }

namespace {

struct Bridge {
  attn_spm_train_fn train = nullptr;
  attn_spm_load_fn load = nullptr;
  attn_spm_free_fn free = nullptr;
  attn_spm_encode_fn encode = nullptr;
  attn_spm_decode_fn decode = nullptr;
  attn_spm_pieces_fn pieces = nullptr;
};

std::string bridge_path() {
  if (const char* env = std::getenv("ATTN_SPM_BRIDGE")) return env;
  // Next to the executable (the build directory), or in an install's lib/<arch>/attn.
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::vector<std::filesystem::path> dirs;
  if (!ec) {
    dirs.push_back(exe.parent_path());
    dirs.push_back(exe.parent_path().parent_path() / ATTN_PRIVATE_LIBDIR);  // cmake --install, the .deb
    dirs.push_back(exe.parent_path().parent_path() / "lib");
  }
  for (const auto& d : dirs)
    if (std::filesystem::exists(d / ATTN_SPM_BRIDGE_NAME)) return (d / ATTN_SPM_BRIDGE_NAME).string();
  return ATTN_SPM_BRIDGE_NAME;  // let the loader search
}

const Bridge& bridge() {
  static Bridge b;
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    std::string path = bridge_path();
    // A new link namespace: the bridge's protobuf can't clash with torch's.
    void* h = dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      error = "sentencepiece bridge " + path + ": " + (e ? e : "cannot load");
      return;
    }
    b.train = reinterpret_cast<attn_spm_train_fn>(dlsym(h, "attn_spm_train"));
    b.load = reinterpret_cast<attn_spm_load_fn>(dlsym(h, "attn_spm_load"));
    b.free = reinterpret_cast<attn_spm_free_fn>(dlsym(h, "attn_spm_free"));
    b.encode = reinterpret_cast<attn_spm_encode_fn>(dlsym(h, "attn_spm_encode"));
    b.decode = reinterpret_cast<attn_spm_decode_fn>(dlsym(h, "attn_spm_decode"));
    b.pieces = reinterpret_cast<attn_spm_pieces_fn>(dlsym(h, "attn_spm_pieces"));
    if (!b.train || !b.load || !b.free || !b.encode || !b.decode || !b.pieces)
      error = "sentencepiece bridge " + path + ": missing symbols";
  });
  if (!error.empty()) throw DataError(error);
  return b;
}

// Calls a bridge function that fills a caller-owned buffer, growing it as needed.
template <class F>
std::string call_with_buffer(F f) {
  std::string buf(4096, '\0');
  int need = f(buf.data(), static_cast<int>(buf.size()));
  if (need > static_cast<int>(buf.size())) {
    buf.assign(static_cast<size_t>(need), '\0');
    need = f(buf.data(), static_cast<int>(buf.size()));
  }
  buf.resize(static_cast<size_t>(std::max(need - 1, 0)));
  return buf;
}

std::vector<std::string> split_newlines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  if (s.empty()) return out;
  while (true) {
    size_t nl = s.find('\n', start);
    out.push_back(s.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

}  // namespace

SpmTokenizer::SpmTokenizer(std::string model_bytes) : bytes_(std::move(model_bytes)) {
  char err[512] = {0};
  handle_ = bridge().load(bytes_.data(), bytes_.size(), err, sizeof err);
  if (!handle_) throw DataError(std::string("sentencepiece model: ") + err);
}

SpmTokenizer::~SpmTokenizer() {
  if (handle_) bridge().free(handle_);
}

std::vector<std::string> SpmTokenizer::encode(const std::string& text) const {
  return split_newlines(
      call_with_buffer([&](char* out, int n) { return bridge().encode(handle_, text.c_str(), out, n); }));
}

std::string SpmTokenizer::decode(const std::vector<std::string>& tokens) const {
  std::string joined = join(tokens, "\n");
  return call_with_buffer([&](char* out, int n) { return bridge().decode(handle_, joined.c_str(), out, n); });
}

std::vector<std::string> SpmTokenizer::pieces() const {
  return split_newlines(call_with_buffer([&](char* out, int n) { return bridge().pieces(handle_, out, n); }));
}

std::string train_spm(const SpmTrainOptions& o) {
  // sentencepiece reads plain text only: unpack .gz inputs to a temp file.
  std::vector<std::string> inputs;
  std::string tmp_input;
  for (const auto& in : o.inputs) {
    if (in.size() > 3 && in.substr(in.size() - 3) == ".gz") {
      if (tmp_input.empty()) tmp_input = o.model_prefix + ".input.txt";
      std::string all;
      for (const auto& f : o.inputs) {
        for (const auto& l : read_lines(f)) all += l + "\n";
      }
      write_file_atomic(tmp_input, all);
      inputs = {tmp_input};
      break;
    }
    read_lines(in);  // validates existence and UTF-8 with a clear message
    inputs.push_back(in);
  }
  std::filesystem::path prefix(o.model_prefix);
  if (prefix.has_parent_path()) std::filesystem::create_directories(prefix.parent_path());
  // Our Vocab owns the special symbols; sentencepiece keeps only <unk> (id 0).
  std::string args = "--input=" + join(inputs, ",") + " --model_prefix=" + o.model_prefix +
                     " --model_type=" + o.model_type + " --vocab_size=" + std::to_string(o.vocab_size) +
                     " --character_coverage=" + std::to_string(o.character_coverage) +
                     " --bos_id=-1 --eos_id=-1 --pad_id=-1 --unk_id=0 --hard_vocab_limit=false" +
                     " --minloglevel=2 --num_threads=1";
  char err[1024] = {0};
  int rc = bridge().train(args.c_str(), err, sizeof err);
  if (!tmp_input.empty()) std::filesystem::remove(tmp_input);
  if (rc != 0) throw DataError(std::string("sentencepiece training failed: ") + err);
  return o.model_prefix + ".model";
}

std::unique_ptr<Tokenizer> make_tokenizer(const std::string& kind, const std::string& model_bytes) {
  if (kind == "spm") return std::make_unique<SpmTokenizer>(model_bytes);
  return std::make_unique<WhitespaceTokenizer>();
}

}  // namespace attn
