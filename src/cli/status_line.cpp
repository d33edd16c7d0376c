#include "cli/status_line.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

namespace attn::cli {

namespace {

int terminal_columns() {
  winsize w{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0) return w.ws_col;
  return 80;
}

void put(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

void StatusLineSink::set_status(const std::string& text) {
  std::lock_guard<std::mutex> lock(mutex_);
  status_ = text;
  draw_locked();
}

void StatusLineSink::clear_status() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (shown_) put("\r\033[K");
  shown_ = false;
  status_.clear();
}

void StatusLineSink::draw_locked() {
  // One column short of the width: a line that fills it wraps on some terminals.
  auto width = static_cast<size_t>(std::max(10, terminal_columns() - 1));
  std::string line = status_.size() > width ? status_.substr(0, width) : status_;
  put("\r\033[K" + line);
  shown_ = !line.empty();
}

void StatusLineSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t buf;
  formatter_->format(msg, buf);
  std::string out = shown_ ? "\r\033[K" : "";
  const char* colour = msg.level >= spdlog::level::err ? "\033[1;31m" : msg.level == spdlog::level::warn ? "\033[33m" : "";
  if (*colour && msg.color_range_end > msg.color_range_start) {
    out.append(buf.data(), msg.color_range_start);
    out += colour;
    out.append(buf.data() + msg.color_range_start, msg.color_range_end - msg.color_range_start);
    out += "\033[m";
    out.append(buf.data() + msg.color_range_end, buf.size() - msg.color_range_end);
  } else {
    out.append(buf.data(), buf.size());
  }
  put(out);
  shown_ = false;
  if (!status_.empty()) draw_locked();
}

void StatusLineSink::flush_() { std::fflush(stderr); }

}  // namespace attn::cli
