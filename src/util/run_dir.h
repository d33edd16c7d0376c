// The files of a training run directory, named in one place (their formats:
// docs/formats.md). Paths only: nothing here touches the disk.
#pragma once
#include <filesystem>
#include <string>

namespace attn {

class RunDir {
 public:
  explicit RunDir(std::string root) : root_(std::move(root)) {}
  // The run a checkpoint of RUN/checkpoints/ belongs to.
  static RunDir of_checkpoint(const std::string& checkpoint) {
    return RunDir(std::filesystem::path(checkpoint).parent_path().parent_path().string());
  }
  const std::string& root() const { return root_; }
  std::string checkpoints() const { return at("checkpoints"); }
  std::string checkpoint(const std::string& name) const { return at("checkpoints/" + name); }
  std::string last() const { return checkpoint("last.ckpt"); }
  std::string best() const { return checkpoint("best.ckpt"); }
  std::string metrics() const { return at("metrics.jsonl"); }                  // one line per validation
  std::string valid_attention() const { return at("valid_attention.jsonl"); }  // attention over training
  std::string summary() const { return at("summary.json"); }                   // written when training ends
  std::string config() const { return at("config.json"); }                     // the config as run
  std::string vocab(const std::string& side) const { return at("vocab." + side + ".txt"); }  // "src" or "tgt"
  std::string spm() const { return at("spm"); }                                // sentencepiece models trained here
  std::string log() const { return at("train.log"); }
  std::string lock() const { return at("train.lock"); }
  std::string eval() const { return at("eval"); }  // evaluate's default output
  // Any other file of the run (plots, pages): RUN/NAME.
  std::string at(const std::string& name) const { return (std::filesystem::path(root_) / name).string(); }

 private:
  std::string root_;
};

}  // namespace attn
