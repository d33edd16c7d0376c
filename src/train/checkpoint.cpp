#include "train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <spdlog/spdlog.h>

#include <filesystem>

#include "train/zip_check.h"
#include "util/errors.h"
#include "util/text_file.h"

namespace attn {

namespace {

constexpr const char* kFormat = "attn-checkpoint-1";

// The file's bytes, refused with one line if its zip CRCs do not match.
std::string read_verified(const std::string& path) {
  if (!std::filesystem::exists(path)) throw CheckpointError(path + ": no such checkpoint");
  if (std::filesystem::is_directory(path)) throw CheckpointError(path + ": is a directory, expected a checkpoint");
  std::string bytes;
  try {
    bytes = read_file(path);
  } catch (const DataError& e) {
    throw CheckpointError(e.what());
  }
  std::string damage = zip_damage(bytes.data(), bytes.size());
  if (!damage.empty()) throw CheckpointError(path + ": damaged checkpoint: " + damage);
  return bytes;
}

std::string read_string(torch::serialize::InputArchive& a, const std::string& key) {
  c10::IValue v;
  if (!a.try_read(key, v) || !v.isString()) throw CheckpointError("missing entry \"" + key + "\"");
  return v.toStringRef();
}

}  // namespace

void save_checkpoint(const std::string& path, Seq2SeqImpl& model, Optimizer* opt, const Config& config,
                     const TextModel& text, const nlohmann::json& trainer_state) {
  torch::serialize::OutputArchive a;
  a.write("format", c10::IValue(std::string(kFormat)));
  a.write("config", c10::IValue(config_to_json(config).dump()));
  a.write("text", c10::IValue(text.to_json().dump()));
  a.write("spm_src", c10::IValue(text.src_tok->model_bytes()));
  a.write("spm_tgt", c10::IValue(text.tgt_tok->model_bytes()));
  a.write("trainer_state", c10::IValue(trainer_state.dump()));
  torch::serialize::OutputArchive m;
  model.save(m);
  a.write("model", m);
  if (opt) {
    torch::serialize::OutputArchive o;
    opt->save(o);
    a.write("optimizer", o);
  }
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    a.write("rng", gen.get_state(), /*is_buffer=*/true);
  }
  // Serialised in memory, then written by write_file_atomic: LibTorch's own
  // file writer, on a full disk, throws again from its destructor (terminate,
  // exit 134) and leaves its temp file behind.
  std::string bytes;
  a.save_to([&bytes](const void* buf, size_t n) {
    bytes.append(static_cast<const char*>(buf), n);
    return n;
  });
  write_file_atomic(path, bytes);
}

Checkpoint load_checkpoint(const std::string& path, const torch::Device& device) {
  std::string bytes = read_verified(path);
  torch::serialize::InputArchive a;
  try {
    a.load_from(bytes.data(), bytes.size());
  } catch (const c10::Error& e) {
    throw CheckpointError(path + ": not a readable attn checkpoint (corrupted or another format)");
  }
  Checkpoint ck;
  ck.path = path;
  try {
    if (read_string(a, "format") != kFormat) throw CheckpointError("unknown format " + read_string(a, "format"));
    std::vector<std::string> warnings;
    ck.config = config_from_stored_json(json::parse(read_string(a, "config")), warnings);
    for (const auto& w : warnings) spdlog::warn("{}: stored config: {} (ignored)", path, w);
    json text = json::parse(read_string(a, "text"));
    std::string kind = text.at("tokenizer").get<std::string>();
    std::string spm_src = read_string(a, "spm_src"), spm_tgt = read_string(a, "spm_tgt");
    ck.text.src_tok = make_tokenizer(kind, spm_src);
    ck.text.tgt_tok = spm_src == spm_tgt ? ck.text.src_tok : std::shared_ptr<Tokenizer>(make_tokenizer(kind, spm_tgt));
    ck.text.src_vocab = Vocab::from_json(text.at("src_vocab"));
    ck.text.tgt_vocab = Vocab::from_json(text.at("tgt_vocab"));
    ck.trainer_state = json::parse(read_string(a, "trainer_state"));
    ck.model = Seq2Seq(ck.config.model, ck.text.src_vocab.size(), ck.text.tgt_vocab.size());
    torch::serialize::InputArchive m;
    if (!a.try_read("model", m)) throw CheckpointError("missing entry \"model\"");
    ck.model->load(m);
  } catch (const CheckpointError& e) {
    throw CheckpointError(path + ": " + e.what());
  } catch (const ConfigError& e) {
    throw CheckpointError(path + ": stored config is invalid: " + e.problems().front());
  } catch (const c10::Error& e) {
    std::string w = e.what_without_backtrace();
    throw CheckpointError(path + ": model weights do not match the stored config: " + w.substr(0, w.find('\n')));
  } catch (const std::exception& e) {
    throw CheckpointError(path + ": damaged checkpoint: " + e.what());
  }
  ck.model->to(device);
  return ck;
}

std::vector<Checkpoint> load_checkpoints(const std::vector<std::string>& paths, const torch::Device& device) {
  std::vector<Checkpoint> out;
  for (const auto& p : paths) {
    out.push_back(load_checkpoint(p, device));
    const TextModel &a = out.front().text, &b = out.back().text;
    auto differs = [&](const char* what) {
      throw CheckpointError(p + ": its " + what + " differs from " + paths.front() +
                            "'s; checkpoints used together must share vocabularies and tokenizers");
    };
    if (!(a.src_vocab == b.src_vocab)) differs("source vocabulary");
    if (!(a.tgt_vocab == b.tgt_vocab)) differs("target vocabulary");
    if (a.src_tok->kind() != b.src_tok->kind() || a.src_tok->model_bytes() != b.src_tok->model_bytes() ||
        a.tgt_tok->model_bytes() != b.tgt_tok->model_bytes())
      differs("tokenizer");
  }
  return out;
}

namespace {
void restore(const std::string& path, Optimizer& opt, bool rng_too) {
  std::string bytes = read_verified(path);
  torch::serialize::InputArchive a;
  try {
    a.load_from(bytes.data(), bytes.size());
    torch::serialize::InputArchive o;
    if (a.try_read("optimizer", o)) opt.load(o);
    torch::Tensor rng;
    if (rng_too && a.try_read("rng", rng, true)) {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng);
    }
  } catch (const c10::Error& e) {
    std::string w = e.what_without_backtrace();
    throw CheckpointError(path + ": optimiser state does not fit this model: " + w.substr(0, w.find('\n')));
  }
}
}  // namespace

void restore_training_state(const std::string& path, Optimizer& opt) { restore(path, opt, true); }
void restore_optimizer_state(const std::string& path, Optimizer& opt) { restore(path, opt, false); }

std::vector<std::string> incompatibilities(const Config& ck, const Config& c) {
  std::vector<std::string> out;
  json a = config_to_json(ck), b = config_to_json(c);
  auto cmp = [&](const std::string& section, const std::vector<std::string>& keys) {
    for (const auto& k : keys) {
      const json& x = a[section][k];
      const json& y = b[section][k];
      if (x != y) out.push_back(section + "." + k + ": checkpoint has " + x.dump() + ", config has " + y.dump());
    }
  };
  std::vector<std::string> model_keys;
  for (auto it = a["model"].begin(); it != a["model"].end(); ++it) model_keys.push_back(it.key());
  cmp("model", model_keys);
  cmp("data", {"tokenizer", "spm", "vocab_min_freq", "vocab_max_size", "src_vocab", "tgt_vocab", "joint_vocab",
              "train_src", "train_tgt"});
  return out;
}

}  // namespace attn
