// The BLAS probe's logic, independent of the CPU the tests run on: a right
// and a wrong sgemm written here, stand-in libraries that compute wrong or
// crash, and the choice among hand-made results.
#include <gtest/gtest.h>

#include "blas/blas_probe.h"

using namespace attn::blas;

namespace {

// Column-major sgemm for the cases the probe uses (ta "T" or "N", tb "N").
void naive_sgemm(const char* ta, const char*, const int* m, const int* n, const int* k, const float* alpha,
                 const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
                 const int* ldc) {
  bool t = *ta == 'T';
  for (int j = 0; j < *n; ++j)
    for (int i = 0; i < *m; ++i) {
      double s = 0;
      for (int p = 0; p < *k; ++p) s += static_cast<double>(t ? a[p + i * *lda] : a[i + p * *lda]) * b[p + j * *ldb];
      float& out = c[i + j * *ldc];
      out = static_cast<float>(*alpha * s + (*beta == 0 ? 0.0 : *beta * out));
    }
}

// Right except that it ignores beta (addmm's accumulation into a bias).
void sgemm_ignoring_beta(const char* ta, const char* tb, const int* m, const int* n, const int* k, const float* alpha,
                         const float* a, const int* lda, const float* b, const int* ldb, const float*, float* c,
                         const int* ldc) {
  const float zero = 0;
  naive_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, &zero, c, ldc);
}

// Right, then one entry of every product off by 1 %.
void sgemm_one_entry_off(const char* ta, const char* tb, const int* m, const int* n, const int* k, const float* alpha,
                         const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
                         const int* ldc) {
  naive_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  for (int j = 0; j < *n; ++j)
    for (int i = 0; i < *m; ++i) c[i + j * *ldc] *= 1.01f;
}

const std::vector<Shape> kSmall = {{5, 7, 9, "tiny"}, {16, 24, 32, "small"}};

ProbeResult made(const std::string& path, bool ok, double geomean) {
  ProbeResult r;
  r.path = path;
  r.ok = ok;
  r.gflops_geomean = geomean;
  if (!ok) r.error = "wrong products";
  return r;
}

}  // namespace

TEST(BlasProbe, RightProductsPassWithARateForEveryShape) {
  ProbeResult r = measure(naive_sgemm, kSmall, 0.01);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_LT(r.max_rel_error, 1e-6);
  ASSERT_EQ(r.gflops.size(), kSmall.size());
  for (double g : r.gflops) EXPECT_GT(g, 0);
  EXPECT_GT(r.gflops_geomean, 0);
}

TEST(BlasProbe, WrongProductsAreRefused) {
  for (auto f : {sgemm_ignoring_beta, sgemm_one_entry_off}) {
    ProbeResult r = measure(f, kSmall, 0.01);
    EXPECT_FALSE(r.ok);
    EXPECT_GT(r.max_rel_error, 1e-3);
    EXPECT_NE(r.error.find("wrong products"), std::string::npos) << r.error;
  }
}

TEST(BlasProbe, ChoosesTheFastestCorrectLibrary) {
  std::vector<ProbeResult> rs = {made("/a/blis/libblas.so.3", true, 30), made("/a/openblas/libblas.so.3", false, 200),
                                 made("/a/blas/libblas.so.3", true, 4), made("/a/other/libblas.so.3", true, 150)};
  EXPECT_EQ(choose(rs), 3);  // 200 computes wrong, so 150 wins
  rs[3].ok = false;
  EXPECT_EQ(choose(rs), 0);
  for (auto& r : rs) r.ok = false;
  EXPECT_EQ(choose(rs), -1);
  EXPECT_EQ(choose({}), -1);
}

TEST(BlasProbe, FindsTheLibraryTheUserNames) {
  std::vector<ProbeResult> rs = {made("/l/blas/libblas.so.3", true, 4), made("/l/blis-openmp/libblas.so.3", true, 30),
                                 made("/l/openblas-pthread/libblas.so.3", true, 150)};
  EXPECT_EQ(find_named(rs, "openblas"), 2);
  EXPECT_EQ(find_named(rs, "blis"), 1);
  EXPECT_EQ(find_named(rs, "blas/"), 0);
  EXPECT_EQ(find_named(rs, "/l/blis-openmp/libblas.so.3"), 1);
  EXPECT_EQ(find_named(rs, "mkl"), -1);
}

TEST(BlasProbe, ALibraryThatComputesWrongIsRefusedFromItsOwnProcess) {
  ProbeResult r = probe_library(FAKE_BLAS_WRONG, kSmall, 0.01, 60);
  EXPECT_EQ(r.path, FAKE_BLAS_WRONG);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("wrong products"), std::string::npos) << r.error;
  EXPECT_EQ(r.gflops.size(), kSmall.size());  // it ran, and was timed
}

TEST(BlasProbe, ALibraryThatCrashesIsOnlyAFailedCandidate) {
  ProbeResult r = probe_library(FAKE_BLAS_CRASH, kSmall, 0.01, 60);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("crashed"), std::string::npos) << r.error;
  EXPECT_EQ(choose({r}), -1);
}

TEST(BlasProbe, AMissingLibrarySaysSo) {
  ProbeResult r = probe_library("/nonexistent/libblas.so.3", kSmall, 0.01, 60);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("cannot load"), std::string::npos) << r.error;
}

TEST(BlasProbe, ResultsSurviveTheirJsonForm) {
  ProbeResult r = measure(naive_sgemm, kSmall, 0.01);
  r.path = "/x/libblas.so.3";
  r.name = "n";
  r.core = "c";
  ProbeResult back = from_json(to_json(r));
  EXPECT_EQ(back.path, r.path);
  EXPECT_EQ(back.core, "c");
  EXPECT_EQ(back.ok, r.ok);
  EXPECT_EQ(back.gflops, r.gflops);
  EXPECT_DOUBLE_EQ(back.gflops_geomean, r.gflops_geomean);
}

TEST(BlasProbe, TableMarksTheChoiceAndTheRefusal) {
  std::vector<ProbeResult> rs = {made("/l/a/libblas.so.3", true, 30), made("/l/b/libblas.so.3", false, 99)};
  for (auto& r : rs) r.gflops = {1, 2};
  std::string t = table(rs, kSmall, 0);
  EXPECT_NE(t.find("* /l/a/libblas.so.3"), std::string::npos) << t;
  EXPECT_NE(t.find("  /l/b/libblas.so.3"), std::string::npos) << t;
  EXPECT_NE(t.find("REFUSED: wrong products"), std::string::npos) << t;
}
