#pragma once
#include <stdexcept>
#include <string>

namespace attn {

// Bad input data: the message names the file and, where known, the line.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace attn
