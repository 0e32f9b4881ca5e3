#include "engram/models/nn/run_linear.hpp"

#include "engram/engine/backend/launch.hpp"
#include "engram/kernels/nn/linear.hpp"

namespace engram::models::runs {

void linear_forward(Backend& backend, std::int64_t runs, const float* x, const float* w, const float* b,
                    std::int64_t param_stride, float* y, std::int64_t rows, std::int64_t in, std::int64_t out) {
  backend.gemm_batched(false, true, rows, out, in, 1.0f, x, rows * in, w, param_stride, 0.0f, y, rows * out, runs);
  if (b != nullptr) launch(backend, runs * rows, nn::BiasAdd<float>{y, b, out, rows, param_stride}, 256);
}

void linear_backward(Backend& backend, std::int64_t runs, const float* x, const float* w, const float* dy, float* dx,
                     float* dw, float* db, std::int64_t param_stride, std::int64_t rows, std::int64_t in,
                     std::int64_t out) {
  if (dx != nullptr) {
    backend.gemm_batched(false, false, rows, in, out, 1.0f, dy, rows * out, w, param_stride, 0.0f, dx, rows * in, runs);
  }
  if (dw != nullptr) {
    backend.gemm_batched(true, false, out, in, rows, 1.0f, dy, rows * out, x, rows * in, 1.0f, dw, param_stride, runs);
  }
  if (db != nullptr) launch(backend, runs * out, nn::BiasGrad<float>{dy, db, rows, out, param_stride});
}

}  // namespace engram::models::runs
