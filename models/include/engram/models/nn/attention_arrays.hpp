#pragma once
// Attention on a caller's arrays (host memory): checks shapes, offsets and masks, copies the
// inputs to the backend, runs the engine's attention kernels (Backend::attention_forward /
// attention_backward, the path the transformer trains through) and copies the results back.
// The Python module (engram.nn.attention) and the C API (engram_attention_*) call these.
//
// Layout (flash-attn's varlen API): q and o are [total_q, heads, head_dim] row-major, k and v
// [total_k, heads, head_dim]; sequence s owns query rows [q_offsets[s], q_offsets[s+1]) and key
// rows [k_offsets[s], k_offsets[s+1]). Causal masking hides key j from query i of a sequence when
// j > i (both counted from the sequence's start). key_valid[t] == 0 hides key row t.
//
//   engram::nn::AttentionArrays a{q, k, v, total_q, total_k, heads, head_dim, q_off, k_off, sequences};
//   engram::nn::attention_forward(backend, a, o, lse);
#include <cstdint>

#include "engram/engine/backend/backend.hpp"

namespace engram::nn {

struct AttentionArrays {
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  std::int64_t total_q = 0, total_k = 0, heads = 0, head_dim = 0;
  const std::int64_t* q_offsets = nullptr;  // [sequences + 1], from 0 to total_q
  const std::int64_t* k_offsets = nullptr;  // [sequences + 1], from 0 to total_k
  std::int64_t sequences = 0;
  bool causal = false;
  const std::uint8_t* key_valid = nullptr;  // [total_k] or null (every key visible)
  float scale = 0;                          // 0: 1 / sqrt(head_dim)
};

// Throws Error::bad_input naming the field (q_offsets[3], head_dim, ...).
void validate(const AttentionArrays& a);

// o [total_q, heads, head_dim] and lse [total_q, heads] (the row log-sum-exp of the scaled
// scores; -inf and o = 0 for a query that sees no key).
void attention_forward(Backend& backend, const AttentionArrays& a, float* o, float* lse);

// Gradients of sum(dout * o) with respect to q, k and v, from the forward pass's o and lse.
void attention_backward(Backend& backend, const AttentionArrays& a, const float* o, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv);

}  // namespace engram::nn
