#include "cli/line_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/errors.h"
#include "util/text_file.h"

namespace attn::cli {

bool LineReader::fill(bool wait) {
  if (end_) return false;
  if (!wait) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return false;
  }
  if (pos_ > 0) buf_.erase(0, pos_), pos_ = 0;
  char chunk[1 << 16];
  ssize_t n;
  do n = read(fd_, chunk, sizeof chunk);
  while (n < 0 && errno == EINTR);
  if (n < 0) throw DataError("cannot read " + name_ + ": " + std::strerror(errno));
  if (n == 0) end_ = true;
  buf_.append(chunk, static_cast<size_t>(n));
  return n > 0;
}

bool LineReader::next(std::string& line, bool wait) {
  size_t nl;
  while ((nl = buf_.find('\n', pos_)) == std::string::npos) {
    if (end_) {
      if (pos_ >= buf_.size()) return false;
      nl = buf_.size();  // a last line without a newline
      break;
    }
    if (!fill(wait) && !end_) return false;
  }
  line.assign(buf_, pos_, nl - pos_);
  pos_ = nl < buf_.size() ? nl + 1 : nl;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (count_ == 0) strip_bom(line);
  ++count_;
  if (find_invalid_utf8(line) != std::string::npos)
    throw DataError(name_ + ":" + std::to_string(count_) + ": invalid UTF-8");
  return true;
}

InputFd::InputFd(const std::string& path) {
  if (path == "-") return;
  do fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  while (fd_ < 0 && errno == EINTR);
  if (fd_ < 0) throw DataError(path + ": cannot open for reading: " + std::strerror(errno));
}

InputFd::~InputFd() {
  if (fd_ > 0) ::close(fd_);
}

bool is_regular_file(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace attn::cli
