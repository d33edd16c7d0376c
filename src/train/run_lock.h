// One training per run directory. Two trainings writing the same
// checkpoints and metrics.jsonl destroy each other's work, so `attn train`
// holds an flock(2) on RUN_DIR/train.lock while it runs. The kernel drops
// the lock when the holder exits in any way (kill -9 included), so a lock
// left by a dead process is simply taken over.
#pragma once
#include <stdexcept>
#include <string>

namespace attn {

class RunDirInUse : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RunLock {
 public:
  // Throws RunDirInUse naming the holder (pid, host, start time) if another process has it.
  explicit RunLock(const std::string& run_dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  static std::string path_in(const std::string& run_dir);

 private:
  int fd_ = -1;
};

}  // namespace attn
