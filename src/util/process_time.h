// How long this process has existed, from the kernel's record of its start:
// splits start-up into what happens before main() (loading shared libraries,
// their static initialisers) and what attn itself does.
#pragma once

namespace attn {

// Seconds since the process started (10 ms resolution: clock ticks), or -1
// where /proc is missing.
double process_age_seconds();

}  // namespace attn
