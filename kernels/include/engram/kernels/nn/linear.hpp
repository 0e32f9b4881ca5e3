#pragma once
// Linear layer y = x W^T + b over row-major [rows, in] inputs, W [out, in] (torch.nn.Linear's
// layout, so weights move between the two unchanged). The matrix products go through the one
// gemm() of the backend (Eigen on CPU, cuBLAS on CUDA); the bias is a pair of functors.
//
//   engram::nn::linear_forward(backend, x, w, b, y, rows, in, out);
//   engram::nn::linear_backward(backend, x, w, dy, dx, dw, db, rows, in, out);  // dw, db accumulate
//
// `G` is anything with gemm(trans_a, trans_b, m, n, k, alpha, a, b, beta, c) and
// for_each(n, f) over host pointers (engram::Backend through engram::nn::HostGemm, tests' loops).
#include <cstdint>

#include "engram/kernels/core/hd.hpp"

namespace engram::nn {

// One work item per row: y[r, c] += b[c] (a row loop, not an integer modulo per element).
// Batched runs (y [runs, rows_per_run, cols], b [runs, param_stride]): row r adds its run's bias.
template <class T>
struct BiasAdd {
  T* y;
  const T* b;
  std::int64_t cols;
  std::int64_t rows_per_run = 0;  // 0: one run
  std::int64_t param_stride = 0;
  ENGRAM_HD void operator()(std::int64_t r) const {
    T* row = y + r * cols;
    const T* br = b + (rows_per_run > 0 ? r / rows_per_run * param_stride : 0);
    for (std::int64_t c = 0; c < cols; ++c) row[c] += br[c];
  }
};

// One work item per column: db[c] += sum over rows of dy[r, c] (a fixed order, so reproducible).
// Batched runs: item = run * cols + c over dy [runs, rows, cols] and db [runs, param_stride].
template <class T>
struct BiasGrad {
  const T* dy;
  T* db;
  std::int64_t rows, cols;
  std::int64_t param_stride = 0;
  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t run = item / cols, c = item % cols;
    const T* d = dy + run * rows * cols;
    T sum = 0;
    for (std::int64_t r = 0; r < rows; ++r) sum += d[r * cols + c];
    db[run * param_stride + c] += sum;
  }
};

// y = x W^T (+ b when b is not null).
template <class G, class T>
void linear_forward(G& g, const T* x, const T* w, const T* b, T* y, std::int64_t rows, std::int64_t in,
                    std::int64_t out) {
  g.gemm(false, true, rows, out, in, T(1), x, w, T(0), y);
  if (b != nullptr) g.for_each(rows, BiasAdd<T>{y, b, out});
}

// dx = dy W (overwritten, skipped when null); dW += dy^T x; db += column sums of dy (when not null).
template <class G, class T>
void linear_backward(G& g, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, std::int64_t rows,
                     std::int64_t in, std::int64_t out) {
  if (dx != nullptr) g.gemm(false, false, rows, in, out, T(1), dy, w, T(0), dx);
  if (dw != nullptr) g.gemm(true, false, out, in, rows, T(1), dy, x, T(1), dw);
  if (db != nullptr) g.for_each(out, BiasGrad<T>{dy, db, rows, out});
}

}  // namespace engram::nn
