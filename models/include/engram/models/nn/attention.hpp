#pragma once
// Multi-head attention on a backend: on the CPU the SIMD fast path
// (kernels/attention/cpu_flash_attention.hpp) where it applies, else the tiled online-softmax
// functors of kernels/attention/flash_attention.hpp through launch() (CUDA twins listed in
// models/src/nn/nn_kernels.inl). A packed batch of runs is one launch: sequences never mix, so a
// run's bits do not depend on the others sharing the call.
//
//   engram::models::attention_forward(backend, {shape, q, k, v, o, lse}, total_q);
//   engram::models::attention_backward(backend, {shape, q, k, v, o, lse, dout, delta, dq, dk, dv, total_q}, total_k);
#include <cstdint>

#include "engram/engine/backend/launch.hpp"
#include "engram/kernels/attention/cpu_flash_attention.hpp"
#include "engram/kernels/attention/flash_attention.hpp"

namespace engram::models {

inline void attention_forward(Backend& backend, const attention::AttentionForward<float>& kernel,
                              std::int64_t total_q) {
  if (backend.kind() == BackendKind::cpu && attention::cpu::supports(kernel.shape)) return attention::cpu::forward(kernel);
  launch(backend, attention::work_items(total_q, kernel.shape.heads), kernel);
}

// Both backward passes (query rows, then key rows); kernel.delta is caller-provided scratch.
inline void attention_backward(Backend& backend, const attention::AttentionBackward<float>& kernel,
                               std::int64_t total_k) {
  if (backend.kind() == BackendKind::cpu && attention::cpu::supports(kernel.shape)) return attention::cpu::backward(kernel);
  launch(backend, attention::work_items(kernel.total_q, kernel.shape.heads),
         attention::AttentionBackwardQueryPass<float>{kernel});
  launch(backend, attention::work_items(total_k, kernel.shape.heads), attention::AttentionBackwardKeyPass<float>{kernel});
}

}  // namespace engram::models
