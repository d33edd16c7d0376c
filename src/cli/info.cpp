#include <torch/torch.h>

#include <cstdio>

#include "cli/common.h"

namespace attn::cli {

void add_info(CLI::App& app, Globals&, Runner& run) {
  auto* sub = app.add_subcommand("info", "Versions, threads, the BLAS in use and its measured speed");
  sub->footer("Example:\n  attn --threads 1 info");
  sub->callback([&run] {
    run = [] {
      std::printf("attn %s\n", ATTN_VERSION);
      std::printf("libtorch %s\n", TORCH_VERSION);
      std::printf("threads %d (intra-op), %d (inter-op)\n", at::get_num_threads(), at::get_num_interop_threads());
      std::printf("blas %s\n", blas_library().c_str());
      double gf = measure_gflops(512, 20);
      std::printf("sgemm 512x512 %.1f GFLOPS%s\n", gf,
                  gf < 10 ? "  (slow: reference BLAS? run scripts/setup.sh to install BLIS)" : "");
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace attn::cli
