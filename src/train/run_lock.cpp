#include "train/run_lock.h"
#include "util/run_dir.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace attn {

namespace {

std::string read_all(int fd) {
  std::string s;
  char buf[512];
  ssize_t n;
  lseek(fd, 0, SEEK_SET);
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string RunLock::path_in(const std::string& run_dir) {
  return RunDir(run_dir).lock();
}

RunLock::RunLock(const std::string& run_dir) {
  std::string path = path_in(run_dir);
  std::filesystem::create_directories(run_dir);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd_ < 0) throw RunDirInUse(path + ": cannot open the run directory's lock: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string holder = read_all(fd_);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw RunDirInUse(run_dir + ": another training is running in this run directory (" +
                        (holder.empty() ? "holder unknown" : holder) +
                        "); wait for it to finish or give another --run-dir");
    throw RunDirInUse(path + ": cannot lock the run directory: " + std::strerror(err));
  }
  std::string stale = read_all(fd_);
  if (!stale.empty()) spdlog::debug("{}: taking over the lock of a finished process ({})", path, stale);
  char host[256] = "?";
  gethostname(host, sizeof host - 1);
  char when[32];
  std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  std::string me = "pid " + std::to_string(getpid()) + " on " + host + ", started " + when + "\n";
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, me.data(), me.size(), 0);
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  (void)!::ftruncate(fd_, 0);  // an empty lock file: nobody holds it
  ::close(fd_);                // closing releases the lock
}

}  // namespace attn
