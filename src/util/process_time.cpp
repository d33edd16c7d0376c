#include "util/process_time.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace attn {

double process_age_seconds() {
  std::ifstream stat("/proc/self/stat"), up("/proc/uptime");
  std::string line;
  double uptime = 0;
  if (!std::getline(stat, line) || !(up >> uptime)) return -1;
  // Field 22 is the start time in clock ticks since boot; the command name
  // (field 2) may contain spaces, so count from its closing parenthesis.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  for (int i = 3; i < 22 && rest >> field; ++i) {
  }
  unsigned long long start = 0;
  if (!(rest >> start)) return -1;
  return uptime - static_cast<double>(start) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace attn
