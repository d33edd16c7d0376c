#include <dlfcn.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "blas/blas_probe.h"
#include "cli/common.h"
#include "ops/kernels.h"

namespace attn::cli {

namespace {

// Another installed BLAS counts as much faster from this ratio on.
constexpr double kMuchFaster = 1.2;

}  // namespace

void add_info(CLI::App& app, Globals& g, Runner& run) {
  auto* sub = app.add_subcommand("info", "Versions, CPU, threads, the BLAS in use and its measured speed");
  sub->footer(
      "Examples:\n  attn info                 # also measures the other installed BLAS libraries (~20 s)\n"
      "  attn info --quick --json  # the BLAS in use only, as JSON (scripts/bench.sh records it)\n"
      "Rates are sgemm GFLOPS at the shapes attn runs (GRU steps, encoder input, output layer).");
  auto quick = std::make_shared<bool>(false);
  auto as_json = std::make_shared<bool>(false);
  sub->add_flag("--quick", *quick, "measure only the BLAS in use, not the other installed ones");
  sub->add_flag("--json", *as_json, "one JSON object instead of text");
  sub->callback([&run, &g, quick, as_json] {
    run = [&g, quick, as_json] {
      namespace b = attn::blas;
      const auto& shapes = b::project_shapes();
      auto sgemm = reinterpret_cast<b::SgemmFn>(dlsym(RTLD_DEFAULT, "sgemm_"));
      std::string lib = b::loaded_library();
      b::ProbeResult in_use;
      if (sgemm) in_use = b::measure(sgemm, shapes, 0.25);
      b::describe(RTLD_DEFAULT, lib, in_use);
      std::vector<b::ProbeResult> others;
      if (!*quick)
        for (const auto& cand : b::installed_candidates())
          if (cand != lib) others.push_back(b::probe_library(cand, shapes, 0.25));
      int best = b::choose(others);
      const b::ProbeResult* faster = nullptr;
      if (best >= 0 && others[static_cast<size_t>(best)].gflops_geomean > kMuchFaster * in_use.gflops_geomean)
        faster = &others[static_cast<size_t>(best)];
      const char* coretype = std::getenv("OPENBLAS_CORETYPE");
      if (*as_json) {
        json j = {{"attn", ATTN_VERSION},
                  {"libtorch", TORCH_VERSION},
                  {"cpu", b::cpu_model()},
                  {"threads", at::get_num_threads()},
                  {"interop_threads", at::get_num_interop_threads()},
                  {"kernels", kernels_name()},
                  {"blas", b::to_json(in_use)},
                  {"openblas_coretype_env", coretype ? coretype : ""},
                  {"shapes", json::array()}};
        for (const auto& s : shapes) j["shapes"].push_back({{"m", s.m}, {"n", s.n}, {"k", s.k}, {"what", s.what}});
        for (const auto& o : others) j["other_blas"].push_back(b::to_json(o));
        if (faster) j["much_faster_blas"] = faster->path;
        std::cout << j.dump() << std::endl;
        return static_cast<int>(kOk);
      }
      std::printf("attn %s, libtorch %s\n", ATTN_VERSION, TORCH_VERSION);
      std::printf("cpu %s\n", b::cpu_model().c_str());
      std::printf("threads %d (intra-op, --threads), %d (inter-op)\n", at::get_num_threads(),
                  at::get_num_interop_threads());
      std::printf("kernels %s (ATTN_KERNELS=aten: the ATen reference)\n", kernels_name());
      std::printf("blas %s\n     %s%s%s\n", lib.empty() ? "none mapped" : lib.c_str(), in_use.name.c_str(),
                  in_use.core.empty() ? "" : (", core " + in_use.core).c_str(),
                  coretype ? (" (OPENBLAS_CORETYPE=" + std::string(coretype) + " is set)").c_str() : "");
      std::printf("sgemm GFLOPS at attn's shapes, %d thread%s:\n", g.threads, g.threads == 1 ? "" : "s");
      for (size_t i = 0; i < shapes.size() && i < in_use.gflops.size(); ++i)
        std::printf("  %5d x %5d x %4d  %7.1f  %s\n", shapes[i].m, shapes[i].n, shapes[i].k, in_use.gflops[i],
                    shapes[i].what.c_str());
      std::printf("  geometric mean      %7.1f%s\n", in_use.gflops_geomean,
                  in_use.ok ? "" : ("  WRONG RESULTS: " + in_use.error).c_str());
      for (const auto& o : others)
        std::printf("other: %s  %s%s\n", o.path.c_str(),
                    o.ok ? (std::to_string(static_cast<int>(o.gflops_geomean + 0.5)) + " GFLOPS").c_str()
                         : ("refused: " + o.error).c_str(),
                    o.core.empty() ? "" : (" (" + o.name + ", core " + o.core + ")").c_str());
      if (faster)
        std::printf("\n%s is %.1fx faster here: run scripts/setup.sh (it measures and switches), or\n"
                    "  update-alternatives --set libblas.so.3-x86_64-linux-gnu %s\n",
                    faster->path.c_str(), faster->gflops_geomean / std::max(in_use.gflops_geomean, 1e-9),
                    faster->path.c_str());
      else if (in_use.gflops_geomean < 10)
        std::printf("\nslow: is this netlib's reference BLAS? run scripts/setup.sh\n");
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace attn::cli
