// Starting more attn processes (compare's parallel training, train --nproc).
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace attn::cli {

// Runs this executable with `args` (argv[1..]); stdout and stderr go to `log`.
pid_t spawn_self(const std::vector<std::string>& args, const std::string& log);

// Waits for one of `pids`; returns its pid and sets `ok` to a clean exit 0.
pid_t wait_any(const std::vector<pid_t>& pids, bool& ok);

}  // namespace attn::cli
