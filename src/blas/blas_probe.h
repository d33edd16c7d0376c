// Which BLAS is fastest on this machine, measured rather than assumed: BLIS
// wins on some x86 cores, OpenBLAS on others (see README, Performance). The
// probe times sgemm at the shapes attn runs and checks every product against
// double precision. It links neither LibTorch nor a BLAS: each candidate
// libblas.so.3 is loaded into a link namespace of its own inside a child
// process, so a candidate that crashes or hangs is only a failed candidate.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace attn::blas {

// One product C[m, n] = X[m, k] W[n, k]^T, as a linear layer computes it
// (Fortran sgemm "T", "N" on row-major tensors).
struct Shape {
  int m, n, k;
  std::string what;
  double gflop() const { return 2.0 * m * n * k / 1e9; }
};

// Products from the small and medium models: GRU steps, the encoder's input
// projection over a batch, the output layer over a batch's target tokens.
const std::vector<Shape>& project_shapes();

// Fortran sgemm_, the symbol every libblas.so.3 exports.
using SgemmFn = void (*)(const char* ta, const char* tb, const int* m, const int* n, const int* k, const float* alpha,
                         const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
                         const int* ldc);

struct ProbeResult {
  std::string path;     // the library file
  std::string name;     // "OpenBLAS 0.3.21 ...", "BLIS 0.9.0", "reference BLAS (netlib)"
  std::string core;     // OpenBLAS's core or BLIS's kernel set; empty when the library does not say
  bool ok = false;      // loaded, ran, and every product checked was right
  std::string error;    // why not ok
  double max_rel_error = 0;        // worst checked entry, relative to sum_k |x w|
  std::vector<double> gflops;      // per shape, as project_shapes()
  double gflops_geomean = 0;       // the figure candidates are ranked by
};

// Times and checks one sgemm in this process: each shape for about
// `seconds` after a warm-up, the median repetition counted. A product whose
// checked entries are wrong (or not finite) makes the result not ok.
ProbeResult measure(SgemmFn f, const std::vector<Shape>& shapes, double seconds);

// Geometric-mean sgemm GFLOPS at project_shapes() of the BLAS this process
// uses (0 when none is loaded): the yardstick for model FLOP rates.
double sgemm_rate(double seconds);

// Library name and core of the BLAS whose symbols `handle` resolves
// (RTLD_DEFAULT for the one this process already uses).
void describe(void* handle, const std::string& path, ProbeResult& r);

// Loads `path` with dlmopen in a forked child and measures it there, with one
// BLAS thread unless OPENBLAS_NUM_THREADS / BLIS_NUM_THREADS / OMP_NUM_THREADS
// say otherwise. Crashes, hangs (past timeout_s) and load failures come back
// as a result that is not ok, with the reason.
ProbeResult probe_library(const std::string& path, const std::vector<Shape>& shapes, double seconds,
                          int timeout_s = 120);

// Every libblas.so.3 Debian's alternatives can point at: <libdir>/*/libblas.so.3.
std::vector<std::string> installed_candidates(const std::string& libdir = "/usr/lib/x86_64-linux-gnu");

// The fastest correct candidate (by geometric mean), or -1 when none is correct.
int choose(const std::vector<ProbeResult>& results);

// The library `want` names among the candidates: a path, or a word that
// occurs in one path ("openblas", "blis", "blas/" for netlib). -1 if none.
int find_named(const std::vector<ProbeResult>& results, const std::string& want);

// A fixed-width table of the results, and the same as JSON.
std::string table(const std::vector<ProbeResult>& results, const std::vector<Shape>& shapes, int chosen);
nlohmann::json to_json(const ProbeResult& r);
ProbeResult from_json(const nlohmann::json& j);

// The libblas this process has mapped (canonical path), "" if none.
std::string loaded_library();

// "AMD EPYC (family 26, model 2)": /proc/cpuinfo's model name, with family
// and model, since a VM's name alone may not tell the core.
std::string cpu_model();

// {cpu, blas, blas_name, blas_core, openblas_coretype_env}: what every
// published number must be accompanied by.
nlohmann::json machine_json();

// Sets the BLAS's own thread count where it has one (OpenBLAS's pthread
// pool and BLIS ignore at::set_num_threads). Returns what it set, by name.
std::string set_blas_threads(int n);

}  // namespace attn::blas
