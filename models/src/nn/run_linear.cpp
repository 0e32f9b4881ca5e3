#include "engram/models/nn/run_linear.hpp"

#include "engram/engine/backend/launch.hpp"
#include "engram/kernels/nn/linear.hpp"

namespace engram::models::runs {

namespace {

template <class T>
void forward(Backend& backend, std::int64_t runs, const T* x, const T* w, const T* b, std::int64_t param_stride, T* y,
             std::int64_t rows, std::int64_t in, std::int64_t out) {
  backend.gemm_batched(false, true, rows, out, in, T(1), x, rows * in, w, param_stride, T(0), y, rows * out, runs);
  if (b != nullptr) launch(backend, runs * rows, nn::BiasAdd<T>{y, b, out, rows, param_stride}, 256);
}

template <class T>
void backward(Backend& backend, std::int64_t runs, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db,
              std::int64_t param_stride, std::int64_t rows, std::int64_t in, std::int64_t out) {
  if (dx != nullptr) {
    backend.gemm_batched(false, false, rows, in, out, T(1), dy, rows * out, w, param_stride, T(0), dx, rows * in, runs);
  }
  if (dw != nullptr) {
    backend.gemm_batched(true, false, out, in, rows, T(1), dy, rows * out, x, rows * in, T(1), dw, param_stride, runs);
  }
  if (db != nullptr) launch(backend, runs * out, nn::BiasGrad<T>{dy, db, rows, out, param_stride});
}

}  // namespace

void linear_forward(Backend& backend, std::int64_t runs, const float* x, const float* w, const float* b,
                    std::int64_t param_stride, float* y, std::int64_t rows, std::int64_t in, std::int64_t out) {
  forward(backend, runs, x, w, b, param_stride, y, rows, in, out);
}
void linear_forward(Backend& backend, std::int64_t runs, const double* x, const double* w, const double* b,
                    std::int64_t param_stride, double* y, std::int64_t rows, std::int64_t in, std::int64_t out) {
  forward(backend, runs, x, w, b, param_stride, y, rows, in, out);
}
void linear_backward(Backend& backend, std::int64_t runs, const float* x, const float* w, const float* dy, float* dx,
                     float* dw, float* db, std::int64_t param_stride, std::int64_t rows, std::int64_t in,
                     std::int64_t out) {
  backward(backend, runs, x, w, dy, dx, dw, db, param_stride, rows, in, out);
}
void linear_backward(Backend& backend, std::int64_t runs, const double* x, const double* w, const double* dy,
                     double* dx, double* dw, double* db, std::int64_t param_stride, std::int64_t rows, std::int64_t in,
                     std::int64_t out) {
  backward(backend, runs, x, w, dy, dx, dw, db, param_stride, rows, in, out);
}

}  // namespace engram::models::runs
