#pragma once
// Ops: what the nn layers need from a backend, for tensors in host-addressable memory: the
// backend's gemm() and an OpenMP loop for the element and row functors of kernels/nn. The
// separable transformer and the nn tests run their layers through it.
//
//   engram::models::Ops ops{*backend};
//   engram::nn::linear_forward(ops, x, w, b, y, rows, in, out);
//   ops.for_each(n, engram::nn::GeluForward<float>{y, z});
#include <cstdint>

#include "engram/engine/backend/backend.hpp"

namespace engram::models {

struct Ops {
  Backend& backend;

  template <class T>
  void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
            const T* b, T beta, T* c) {
    backend.gemm(trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
  }

  template <class F>
  void for_each(std::int64_t n, const F& f) {
    // Small launches run inline: a parallel region costs more than a few hundred element ops.
#pragma omp parallel for schedule(static) if (n > 4096)
    for (std::int64_t i = 0; i < n; ++i) f(i);
  }
};

}  // namespace engram::models
