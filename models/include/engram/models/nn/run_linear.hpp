#pragma once
// Linear layers of batched training runs (training_runs.hpp): y_r = x_r W_r^T + b_r for every
// run r, one strided-batched GEMM for all runs. Activations are [runs, rows, features]
// (contiguous), weights and biases are slices of each run's parameter vector (param_stride apart),
// in torch.nn.Linear's [out, in] layout. T is float (trainers) or double (gradient checks on the
// CPU backend).
//
//   runs::linear_forward(backend, R, x, w, b, stride, y, rows, in, out);
//   runs::linear_backward(backend, R, x, w, dy, dx, dw, db, stride, rows, in, out);  // dw, db accumulate
#include <cstdint>

#include "engram/engine/backend/backend.hpp"

namespace engram::models::runs {

// Overloads for float and double (not a template, so a null bias or dx needs no cast).
void linear_forward(Backend& backend, std::int64_t runs, const float* x, const float* w, const float* b,
                    std::int64_t param_stride, float* y, std::int64_t rows, std::int64_t in, std::int64_t out);
void linear_forward(Backend& backend, std::int64_t runs, const double* x, const double* w, const double* b,
                    std::int64_t param_stride, double* y, std::int64_t rows, std::int64_t in, std::int64_t out);

// dx = dy W (overwritten; skipped when null); dW += dy^T x; db += column sums of dy (when not null).
void linear_backward(Backend& backend, std::int64_t runs, const float* x, const float* w, const float* dy, float* dx,
                     float* dw, float* db, std::int64_t param_stride, std::int64_t rows, std::int64_t in,
                     std::int64_t out);
void linear_backward(Backend& backend, std::int64_t runs, const double* x, const double* w, const double* dy,
                     double* dx, double* dw, double* db, std::int64_t param_stride, std::int64_t rows, std::int64_t in,
                     std::int64_t out);

}  // namespace engram::models::runs
