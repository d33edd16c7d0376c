// A status line at the bottom of the terminal (training progress) that log
// lines pass above instead of gluing onto: progress and log share one
// stream (stderr), every log line first clears the status and then draws it
// again, and the status is cut to the terminal's width so it never wraps.
// Only used when stderr is a terminal; otherwise logs go out plainly.
#pragma once
#include <spdlog/sinks/base_sink.h>

#include <mutex>
#include <string>

namespace attn::cli {

class StatusLineSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void set_status(const std::string& text);
  void clear_status();

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  void draw_locked();
  std::string status_;
  bool shown_ = false;
};

// The console sink when stderr is a terminal (set by setup_logging), else null.
StatusLineSink* status_line();

}  // namespace attn::cli
