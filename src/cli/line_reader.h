// Lines from a file descriptor, read as they arrive: translate answers a
// pipe line by line, batching what is already waiting without waiting for
// more. Lines are checked like read_lines(): CRLF, a leading BOM, UTF-8.
#pragma once
#include <string>

namespace attn::cli {

class LineReader {
 public:
  LineReader(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  // The next line; false at the end of input. With wait = false, also false
  // at once when no whole line has arrived yet. Throws DataError naming
  // "<name>:<line>" on invalid UTF-8.
  bool next(std::string& line, bool wait);
  bool at_end() const { return end_ && pos_ >= buf_.size(); }
  // Lines returned so far.
  size_t count() const { return count_; }

 private:
  bool fill(bool wait);  // reads what is there (or blocks for it); false if nothing came
  int fd_;
  std::string name_, buf_;
  size_t pos_ = 0, count_ = 0;
  bool end_ = false;
};

// The descriptor to read: 0 for "-", else the file opened (and closed with
// this object). Throws DataError when it cannot be opened.
class InputFd {
 public:
  explicit InputFd(const std::string& path);
  ~InputFd();
  InputFd(const InputFd&) = delete;
  InputFd& operator=(const InputFd&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_ = 0;
};

// True when fd is a regular file (not a pipe or terminal): such input is
// all there already, so it is read whole and decoded in length-sorted batches.
bool is_regular_file(int fd);

}  // namespace attn::cli
