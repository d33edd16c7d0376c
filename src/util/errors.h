#pragma once
#include <stdexcept>
#include <string>

namespace attn {

// Bad input data: the message names the file and, where known, the line.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file could not be written (disk full, read-only, a directory in the
// way). The message names the file and the system's reason; the previous
// content of the file, if any, is kept.
class WriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace attn
