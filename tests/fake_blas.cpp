// Stand-in libblas.so.3 builds for the BLAS probe's tests (CMake builds it
// twice): FAKE_BLAS_WRONG computes C = A B with A's transpose flag ignored,
// as a kernel with a broken edge case might; FAKE_BLAS_CRASH aborts.
#include <cstdlib>

extern "C" void sgemm_(const char* ta, const char*, const int* m, const int* n, const int* k, const float* alpha,
                       const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
                       const int* ldc) {
#ifdef FAKE_BLAS_CRASH
  (void)ta, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b, (void)ldb, (void)beta, (void)c,
      (void)ldc;
  std::abort();
#else
  (void)ta;  // the bug: A is read as if not transposed
  for (int j = 0; j < *n; ++j)
    for (int i = 0; i < *m; ++i) {
      float s = 0;
      for (int p = 0; p < *k; ++p) s += a[(i + p * *lda) % (*lda * *m)] * b[p + j * *ldb];  // stays inside A
      c[i + j * *ldc] = *alpha * s + (*beta == 0 ? 0 : *beta * c[i + j * *ldc]);
    }
#endif
}
