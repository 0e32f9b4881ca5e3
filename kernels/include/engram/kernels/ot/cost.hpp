#pragma once
// Ground costs of the Sinkhorn kernels. A cost is either stored (one dense [n, m] matrix per
// problem of a batch) or computed on the fly from the points (squared Euclidean, or the
// Euclidean distance to a power p), so an online problem needs memory linear in its points.
// Each cost also gives its gradient with respect to the source point, for the gradient of the
// OT value.
//
//   const double c = engram::ot::SqEuclidean<double>::eval(xi, yj, dim, 2.0);   // |xi - yj|^2
//   engram::ot::SqEuclidean<double>::add_gradient(xi, yj, dim, 2.0, weight, grad_i);
#include <cmath>
#include <cstdint>

#include "engram/kernels/core/hd.hpp"

namespace engram::ot {

enum class CostKind : std::int32_t {
  stored = 0,        // a given [n, m] matrix per problem
  sq_euclidean = 1,  // |x - y|^2
  p_norm = 2,        // |x - y|^p (Euclidean norm)
};

// Precision-matched elementary functions: expf for float, exp for double, on host and device.
ENGRAM_HD ENGRAM_FORCEINLINE float ot_exp(float v) { return expf(v); }
ENGRAM_HD ENGRAM_FORCEINLINE double ot_exp(double v) { return exp(v); }
ENGRAM_HD ENGRAM_FORCEINLINE float ot_log(float v) { return logf(v); }
ENGRAM_HD ENGRAM_FORCEINLINE double ot_log(double v) { return log(v); }
ENGRAM_HD ENGRAM_FORCEINLINE float ot_sqrt(float v) { return sqrtf(v); }
ENGRAM_HD ENGRAM_FORCEINLINE double ot_sqrt(double v) { return sqrt(v); }
ENGRAM_HD ENGRAM_FORCEINLINE float ot_pow(float v, float e) { return powf(v, e); }
ENGRAM_HD ENGRAM_FORCEINLINE double ot_pow(double v, double e) { return pow(v, e); }
ENGRAM_HD ENGRAM_FORCEINLINE float ot_abs(float v) { return fabsf(v); }
ENGRAM_HD ENGRAM_FORCEINLINE double ot_abs(double v) { return fabs(v); }

template <class T>
struct SqEuclidean {
  ENGRAM_HD static T eval(const T* x, const T* y, std::int32_t dim, T /*p*/) {
    T s = 0;
    for (std::int32_t k = 0; k < dim; ++k) {
      const T d = x[k] - y[k];
      s += d * d;
    }
    return s;
  }
  // grad[k] += weight * d/dx_k |x - y|^2
  ENGRAM_HD static void add_gradient(const T* x, const T* y, std::int32_t dim, T /*p*/, T weight, T* grad) {
    for (std::int32_t k = 0; k < dim; ++k) grad[k] += weight * T(2) * (x[k] - y[k]);
  }
};

template <class T>
struct PNorm {
  ENGRAM_HD static T eval(const T* x, const T* y, std::int32_t dim, T p) {
    return ot_pow(ot_sqrt(SqEuclidean<T>::eval(x, y, dim, p)), p);
  }
  // p |x - y|^(p - 2) (x - y); zero where x = y (the subgradient for p <= 2).
  ENGRAM_HD static void add_gradient(const T* x, const T* y, std::int32_t dim, T p, T weight, T* grad) {
    const T r2 = SqEuclidean<T>::eval(x, y, dim, p);
    if (r2 <= T(0)) return;
    const T scale = weight * p * ot_pow(r2, (p - T(2)) / T(2));
    for (std::int32_t k = 0; k < dim; ++k) grad[k] += scale * (x[k] - y[k]);
  }
};

}  // namespace engram::ot
