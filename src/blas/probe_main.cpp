// attn-blas-probe: times and checks every installed libblas.so.3 (or the
// ones named) and says which is fastest here. scripts/setup.sh builds and
// runs it, then points Debian's libblas.so.3 alternative at its choice.
//   attn-blas-probe                   table on stderr, the chosen path on stdout
//   attn-blas-probe --json            one JSON object per library on stdout
//   attn-blas-probe --want openblas   the named library if it is correct (the user's choice)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "blas/blas_probe.h"

int main(int argc, char** argv) {
  using namespace attn::blas;
  std::vector<std::string> libs;
  std::string want;
  bool as_json = false;
  double seconds = 0.25;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json") {
      as_json = true;
    } else if (a == "--want" && i + 1 < argc) {
      want = argv[++i];
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--help" || a == "-h" || (!a.empty() && a[0] == '-')) {
      std::fprintf(stderr, "usage: attn-blas-probe [--json] [--want NAME] [--seconds S] [LIBRARY...]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    } else {
      libs.push_back(a);
    }
  }
  if (libs.empty()) libs = installed_candidates();
  if (libs.empty()) {
    std::fprintf(stderr, "attn-blas-probe: no libblas.so.3 found under /usr/lib/x86_64-linux-gnu/*/\n");
    return 1;
  }
  std::vector<ProbeResult> results;
  for (const auto& l : libs) results.push_back(probe_library(l, project_shapes(), seconds));
  int chosen = choose(results);
  if (!want.empty()) {
    int w = find_named(results, want);
    if (w < 0 || !results[static_cast<size_t>(w)].ok) {
      std::cerr << table(results, project_shapes(), chosen);
      std::fprintf(stderr, "attn-blas-probe: the requested BLAS '%s' is %s\n", want.c_str(),
                   w < 0 ? "not installed" : ("refused: " + results[static_cast<size_t>(w)].error).c_str());
      return 1;
    }
    chosen = w;
  }
  if (as_json) {
    for (size_t i = 0; i < results.size(); ++i) {
      auto j = to_json(results[i]);
      j["chosen"] = static_cast<int>(i) == chosen;
      std::cout << j.dump() << "\n";
    }
  } else {
    std::cerr << table(results, project_shapes(), chosen);
    if (chosen >= 0) std::cout << results[static_cast<size_t>(chosen)].path << "\n";
  }
  if (chosen < 0) {
    std::fprintf(stderr, "attn-blas-probe: no installed BLAS computed correct products\n");
    return 1;
  }
  return 0;
}
