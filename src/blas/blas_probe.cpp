#include "blas/blas_probe.h"

#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace attn::blas {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::vector<Shape>& project_shapes() {
  static const std::vector<Shape> shapes = {
      {64, 384, 128, "small GRU step (batch 64, hidden 128)"},
      {64, 1536, 512, "medium GRU step (batch 64, hidden 512)"},
      {1200, 1536, 256, "medium encoder input (1,200 tokens)"},
      {1200, 8000, 256, "medium output layer (1,200 tokens, 8,000 words)"},
      {512, 512, 512, "square 512"},
  };
  return shapes;
}

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// C = X W^T for row-major X [m, k], W [n, k], C [m, n]: in Fortran's
// column-major view that is C^T [n, m] = W^T' X^T, i.e. sgemm("T", "N").
void linear(SgemmFn f, const Shape& s, const float* x, const float* w, float* c, float beta) {
  const float alpha = 1.0f;
  f("T", "N", &s.n, &s.m, &s.k, &alpha, w, &s.k, x, &s.k, &beta, c, &s.n);
}

// Worst relative error over `samples` entries of C (all when samples <= 0),
// each against a double-precision dot product, relative to sum |x w|.
double check(const Shape& s, const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& c0,
             const std::vector<float>& c, float beta, int samples, std::mt19937& rng) {
  double worst = 0;
  const long total = static_cast<long>(s.m) * s.n;
  const long count = samples <= 0 ? total : std::min<long>(samples, total);
  std::uniform_int_distribution<long> pick(0, total - 1);
  for (long q = 0; q < count; ++q) {
    long idx = samples <= 0 ? q : pick(rng);
    long i = idx / s.n, j = idx % s.n;
    double ref = beta * c0[static_cast<size_t>(idx)], scale = std::fabs(ref);
    for (int p = 0; p < s.k; ++p) {
      double t = static_cast<double>(x[static_cast<size_t>(i * s.k + p)]) * w[static_cast<size_t>(j * s.k + p)];
      ref += t;
      scale += std::fabs(t);
    }
    double got = c[static_cast<size_t>(idx)];
    if (!std::isfinite(got)) return INFINITY;
    worst = std::max(worst, std::fabs(got - ref) / std::max(scale, 1e-30));
  }
  return worst;
}

// float epsilon times a margin: a right kernel stays far below it (k <= 512
// gives errors around 1e-7 relative to sum |x w|), a wrong one is near 1.
constexpr double kTolerance = 1e-4;

std::vector<float> random_matrix(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

}  // namespace

ProbeResult measure(SgemmFn f, const std::vector<Shape>& shapes, double seconds) {
  ProbeResult r;
  std::mt19937 rng(12345);
  // An odd shape with beta = 1 first, every entry checked: edge kernels and
  // accumulation into C (addmm with a bias) must be right.
  {
    Shape s{37, 53, 129, "check"};
    auto x = random_matrix(static_cast<size_t>(s.m) * s.k, rng), w = random_matrix(static_cast<size_t>(s.n) * s.k, rng);
    auto c0 = random_matrix(static_cast<size_t>(s.m) * s.n, rng), c = c0;
    linear(f, s, x.data(), w.data(), c.data(), 1.0f);
    r.max_rel_error = check(s, x, w, c0, c, 1.0f, 0, rng);
  }
  double log_sum = 0;
  for (const auto& s : shapes) {
    auto x = random_matrix(static_cast<size_t>(s.m) * s.k, rng), w = random_matrix(static_cast<size_t>(s.n) * s.k, rng);
    std::vector<float> c0(static_cast<size_t>(s.m) * s.n, 0.0f), c = c0;
    linear(f, s, x.data(), w.data(), c.data(), 0.0f);  // warm-up, and the product checked
    r.max_rel_error = std::max(r.max_rel_error, check(s, x, w, c0, c, 0.0f, 256, rng));
    std::vector<double> times;
    double start = now_s();
    do {  // at least one timed product: a very slow BLAS gets only that
      double t0 = now_s();
      linear(f, s, x.data(), w.data(), c.data(), 0.0f);
      times.push_back(now_s() - t0);
    } while (times.size() < 1000 && now_s() - start < seconds);
    std::sort(times.begin(), times.end());
    double g = s.gflop() / std::max(times[times.size() / 2], 1e-9);
    r.gflops.push_back(g);
    log_sum += std::log(g);
  }
  r.gflops_geomean = shapes.empty() ? 0 : std::exp(log_sum / static_cast<double>(shapes.size()));
  r.ok = r.max_rel_error <= kTolerance;
  if (!r.ok) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "wrong products (relative error %.3g, tolerance %.0e)", r.max_rel_error, kTolerance);
    r.error = buf;
  }
  return r;
}

double sgemm_rate(double seconds) {
  auto f = reinterpret_cast<SgemmFn>(dlsym(RTLD_DEFAULT, "sgemm_"));
  return f ? measure(f, project_shapes(), seconds).gflops_geomean : 0;
}

void describe(void* handle, const std::string& path, ProbeResult& r) {
  r.path = path;
  using CharFn = char* (*)();
  if (auto cfg = reinterpret_cast<CharFn>(dlsym(handle, "openblas_get_config"))) {
    r.name = cfg();  // "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64"
    if (auto core = reinterpret_cast<CharFn>(dlsym(handle, "openblas_get_corename"))) r.core = core();
    return;
  }
  // Debian's BLIS libblas.so.3 exports only the BLAS API; the libblis.so.4
  // beside it (the same code) answers the version and kernel-set queries.
  void* blis = dlsym(handle, "bli_info_get_version_str") ? handle : nullptr;
  if (!blis && path.find("blis") != std::string::npos) {
    std::string sibling = (fs::path(path).parent_path() / "libblis.so.4").string();
    blis = dlmopen(LM_ID_NEWLM, sibling.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!blis) r.name = "BLIS";
  }
  if (blis) {
    using StrFn = const char* (*)();
    using IdFn = int (*)();
    using NameFn = const char* (*)(int);
    auto ver = reinterpret_cast<StrFn>(dlsym(blis, "bli_info_get_version_str"));
    auto id = reinterpret_cast<IdFn>(dlsym(blis, "bli_arch_query_id"));
    auto str = reinterpret_cast<NameFn>(dlsym(blis, "bli_arch_string"));
    r.name = std::string("BLIS ") + (ver ? ver() : "");
    if (id && str) r.core = str(id());
    return;
  }
  if (!r.name.empty()) return;
  if (dlsym(handle, "mkl_get_version_string")) {
    r.name = "Intel MKL";
    return;
  }
  r.name = path.find("/blas/") != std::string::npos ? "reference BLAS (netlib)" : "unknown BLAS";
}

json to_json(const ProbeResult& r) {
  return {{"path", r.path},   {"name", r.name},   {"core", r.core}, {"ok", r.ok}, {"error", r.error},
          {"max_rel_error", r.max_rel_error}, {"gflops", r.gflops}, {"gflops_geomean", r.gflops_geomean}};
}

ProbeResult from_json(const json& j) {
  ProbeResult r;
  r.path = j.at("path");
  r.name = j.at("name");
  r.core = j.at("core");
  r.ok = j.at("ok");
  r.error = j.at("error");
  r.max_rel_error = j.at("max_rel_error");
  r.gflops = j.at("gflops").get<std::vector<double>>();
  r.gflops_geomean = j.at("gflops_geomean");
  return r;
}

ProbeResult probe_library(const std::string& path, const std::vector<Shape>& shapes, double seconds, int timeout_s) {
  ProbeResult failed;
  failed.path = path;
  int fd[2];
  if (pipe(fd) != 0) {
    failed.error = "cannot create a pipe";
    return failed;
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(fd[0]);
    close(fd[1]);
    failed.error = "cannot fork";
    return failed;
  }
  if (pid == 0) {  // child: load, measure, write one JSON line, leave without running destructors
    close(fd[0]);
    setenv("OPENBLAS_NUM_THREADS", "1", 0);  // 0: an explicit setting wins
    setenv("BLIS_NUM_THREADS", "1", 0);
    setenv("OMP_NUM_THREADS", "1", 0);
    json out;
    void* h = dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
    auto f = h ? reinterpret_cast<SgemmFn>(dlsym(h, "sgemm_")) : nullptr;
    if (!f) {
      ProbeResult r;
      r.path = path;
      const char* e = dlerror();
      r.error = h ? "no sgemm_ symbol" : std::string("cannot load: ") + (e ? e : "?");
      out = to_json(r);
    } else {
      ProbeResult r = measure(f, shapes, seconds);
      describe(h, path, r);
      out = to_json(r);
    }
    std::string s = out.dump() + "\n";
    for (size_t done = 0; done < s.size();) {
      ssize_t w = write(fd[1], s.data() + done, s.size() - done);
      if (w <= 0) break;
      done += static_cast<size_t>(w);
    }
    _exit(0);
  }
  close(fd[1]);
  std::string text;
  char buf[4096];
  const double deadline = now_s() + timeout_s;
  bool timed_out = false;
  for (;;) {
    int left = static_cast<int>((deadline - now_s()) * 1000);
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fd[0], POLLIN, 0};
    int n = poll(&p, 1, left);
    if (n == 0) continue;
    if (n < 0 && errno == EINTR) continue;
    ssize_t got = read(fd[0], buf, sizeof buf);
    if (got <= 0) break;
    text.append(buf, static_cast<size_t>(got));
  }
  close(fd[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (timed_out) {
    failed.error = "no answer within " + std::to_string(timeout_s) + " s";
    return failed;
  }
  if (WIFSIGNALED(status)) {
    failed.error = std::string("crashed (") + strsignal(WTERMSIG(status)) + ")";
    return failed;
  }
  try {
    return from_json(json::parse(text));
  } catch (const std::exception&) {
    failed.error = "no result from the probe process";
    return failed;
  }
}

std::vector<std::string> installed_candidates(const std::string& libdir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(libdir, ec)) {
    fs::path lib = d.path() / "libblas.so.3";
    if (d.is_directory(ec) && fs::exists(lib, ec)) out.push_back(lib.string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

int choose(const std::vector<ProbeResult>& results) {
  int best = -1;
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok) continue;
    if (best < 0 || results[i].gflops_geomean > results[static_cast<size_t>(best)].gflops_geomean)
      best = static_cast<int>(i);
  }
  return best;
}

int find_named(const std::vector<ProbeResult>& results, const std::string& want) {
  for (size_t i = 0; i < results.size(); ++i)
    if (results[i].path == want) return static_cast<int>(i);
  for (size_t i = 0; i < results.size(); ++i)
    if (results[i].path.find(want) != std::string::npos) return static_cast<int>(i);
  return -1;
}

std::string table(const std::vector<ProbeResult>& results, const std::vector<Shape>& shapes, int chosen) {
  std::string out = "sgemm GFLOPS, one thread unless the environment says otherwise (m x n x k):\n";
  char buf[512];
  std::snprintf(buf, sizeof buf, "  %-52s", "library");
  out += buf;
  for (const auto& s : shapes) {
    std::snprintf(buf, sizeof buf, " %15s", (std::to_string(s.m) + "x" + std::to_string(s.n) + "x" +
                                             std::to_string(s.k)).c_str());
    out += buf;
  }
  out += "  geomean  rel.error\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    std::snprintf(buf, sizeof buf, "%c %-52s", static_cast<int>(i) == chosen ? '*' : ' ', r.path.c_str());
    out += buf;
    if (r.gflops.size() == shapes.size()) {
      for (double g : r.gflops) {
        std::snprintf(buf, sizeof buf, " %15.1f", g);
        out += buf;
      }
      std::snprintf(buf, sizeof buf, " %8.1f  %9.1e", r.gflops_geomean, r.max_rel_error);
      out += buf;
    }
    out += "\n    " + (r.name.empty() ? std::string("?") : r.name) + (r.core.empty() ? "" : ", core " + r.core);
    if (!r.ok) out += "  REFUSED: " + r.error;
    out += "\n";
  }
  return out;
}

std::string loaded_library() {
  // libblas.so.3 first: OpenBLAS's is a thin library over libopenblas.so.0,
  // and the alternatives name the former.
  std::ifstream maps("/proc/self/maps");
  std::string line, fallback;
  while (std::getline(maps, line)) {
    auto p = line.find('/');
    if (p == std::string::npos) continue;
    std::string path = line.substr(p);
    std::string file = fs::path(path).filename().string();
    bool blas = file.rfind("libblas", 0) == 0;
    if (blas || file.rfind("libopenblas", 0) == 0 || file.rfind("libblis", 0) == 0 || file.rfind("libmkl", 0) == 0) {
      std::error_code ec;
      auto real = fs::canonical(path, ec);
      if (blas) return ec ? path : real.string();
      if (fallback.empty()) fallback = ec ? path : real.string();
    }
  }
  return fallback;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, name, family, model;
  auto value = [](const std::string& l) {
    auto c = l.find(':');
    return c == std::string::npos ? std::string() : l.substr(l.find_first_not_of(" \t", c + 1));
  };
  while (std::getline(in, line) && (name.empty() || family.empty() || model.empty())) {
    if (line.rfind("model name", 0) == 0) name = value(line);
    else if (line.rfind("cpu family", 0) == 0) family = value(line);
    else if (line.rfind("model", 0) == 0 && model.empty()) model = value(line);
  }
  if (name.empty()) return "unknown CPU";
  return family.empty() ? name : name + " (family " + family + ", model " + model + ")";
}

json machine_json() {
  ProbeResult r;
  std::string lib = loaded_library();
  describe(RTLD_DEFAULT, lib, r);
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  return {{"cpu", cpu_model()},
          {"blas", lib},
          {"blas_name", r.name},
          {"blas_core", r.core},
          {"openblas_coretype_env", coretype ? coretype : ""}};
}

std::string set_blas_threads(int n) {
  if (auto f = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    f(n);
    return "openblas";
  }
  if (auto f = reinterpret_cast<void (*)(int64_t)>(dlsym(RTLD_DEFAULT, "bli_thread_set_num_threads"))) {
    f(n);
    return "blis";
  }
  return "";
}

}  // namespace attn::blas
