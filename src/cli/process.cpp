#include "cli/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <stdexcept>

extern char** environ;

namespace attn::cli {

pid_t spawn_self(const std::vector<std::string>& args, const std::string& log) {
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::string> all = {self};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, self.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + self + " (log " + log + ")");
  return pid;
}

pid_t wait_any(const std::vector<pid_t>& pids, bool& ok) {
  while (true) {
    int status = 0;
    pid_t done = waitpid(-1, &status, 0);
    if (done < 0) {
      if (errno == EINTR) continue;  // Ctrl-C reaches the children too; keep waiting for them
      return -1;
    }
    if (std::find(pids.begin(), pids.end(), done) == pids.end()) continue;
    ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return done;
  }
}

}  // namespace attn::cli
