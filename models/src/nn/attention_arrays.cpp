#include "engram/models/nn/attention_arrays.hpp"

#include <cmath>
#include <string>
#include <utility>

#include "engram/engine/error.hpp"
#include "engram/engine/memory/buffer.hpp"
#include "engram/kernels/attention/flash_attention.hpp"
#include "engram/models/nn/attention.hpp"

namespace engram::nn {

namespace {

void check_offsets(const std::int64_t* offsets, std::int64_t sequences, std::int64_t total, const char* name,
                   const char* rows) {
  if (offsets == nullptr) throw Error::bad_input(name, "NULL", "must not be NULL");
  const std::string field(name);
  if (offsets[0] != 0) throw Error::bad_input(field + "[0]", std::to_string(offsets[0]), "must be 0");
  for (std::int64_t s = 0; s < sequences; ++s) {
    if (offsets[s + 1] < offsets[s]) {
      throw Error::bad_input(field + "[" + std::to_string(s + 1) + "]", std::to_string(offsets[s + 1]),
                             "must not be below the previous offset, " + std::to_string(offsets[s]));
    }
  }
  if (offsets[sequences] != total) {
    throw Error::bad_input(field + "[" + std::to_string(sequences) + "]", std::to_string(offsets[sequences]),
                           std::string("must equal the number of ") + rows + " rows, " + std::to_string(total));
  }
}

attention::AttentionShape shape_on(const AttentionArrays& a, const Buffer<std::int64_t>& q_offsets,
                                   const Buffer<std::int64_t>& k_offsets, const Buffer<std::uint8_t>& key_valid) {
  const float scale = a.scale != 0 ? a.scale : 1.0f / std::sqrt(static_cast<float>(a.head_dim));
  return attention::AttentionShape{q_offsets.data(), k_offsets.data(), a.sequences, a.heads, a.head_dim, a.causal,
                                   a.key_valid != nullptr ? key_valid.data() : nullptr, scale};
}

template <class T>
Buffer<T> upload(Backend& backend, const T* host, std::int64_t count) {
  Buffer<T> out(backend, static_cast<std::size_t>(count));
  if (host != nullptr && count > 0) backend.copy_from_host(out.data(), host, static_cast<std::size_t>(count) * sizeof(T));
  return out;
}

template <class T>
void download(Backend& backend, const Buffer<T>& from, T* host) {
  if (from.size() > 0) backend.copy_to_host(host, from.data(), from.size() * sizeof(T));
}

// The inputs in backend memory.
struct Inputs {
  Buffer<float> q, k, v;
  Buffer<std::int64_t> q_offsets, k_offsets;
  Buffer<std::uint8_t> key_valid;
  Inputs(Backend& backend, const AttentionArrays& a)
      : q(upload(backend, a.q, a.total_q * a.heads * a.head_dim)),
        k(upload(backend, a.k, a.total_k * a.heads * a.head_dim)),
        v(upload(backend, a.v, a.total_k * a.heads * a.head_dim)),
        q_offsets(upload(backend, a.q_offsets, a.sequences + 1)),
        k_offsets(upload(backend, a.k_offsets, a.sequences + 1)),
        key_valid(upload(backend, a.key_valid, a.key_valid != nullptr ? a.total_k : 0)) {}
};

}  // namespace

void validate(const AttentionArrays& a) {
  if (a.heads < 1) throw Error::bad_input("heads", std::to_string(a.heads), "must be >= 1");
  if (a.head_dim < attention::kMinHeadDim || a.head_dim > attention::kMaxHeadDim) {
    throw Error::bad_input("head_dim", std::to_string(a.head_dim),
                           "must be in [" + std::to_string(attention::kMinHeadDim) + ", " +
                               std::to_string(attention::kMaxHeadDim) + "] (the attention kernels' tile range)");
  }
  if (a.total_q < 0) throw Error::bad_input("total_q", std::to_string(a.total_q), "must be >= 0");
  if (a.total_k < 0) throw Error::bad_input("total_k", std::to_string(a.total_k), "must be >= 0");
  if (a.sequences < 1) throw Error::bad_input("sequences", std::to_string(a.sequences), "must be >= 1");
  if (a.total_q > 0 && a.q == nullptr) throw Error::bad_input("q", "NULL", "must not be NULL");
  if (a.total_k > 0 && (a.k == nullptr || a.v == nullptr)) {
    throw Error::bad_input(a.k == nullptr ? "k" : "v", "NULL", "must not be NULL");
  }
  if (!std::isfinite(a.scale)) throw Error::bad_input("scale", std::to_string(a.scale), "must be finite");
  check_offsets(a.q_offsets, a.sequences, a.total_q, "q_offsets", "query");
  check_offsets(a.k_offsets, a.sequences, a.total_k, "k_offsets", "key");
}

void attention_forward(Backend& backend, const AttentionArrays& a, float* o, float* lse) {
  validate(a);
  if (o == nullptr || lse == nullptr) throw Error::bad_input(o == nullptr ? "o" : "lse", "NULL", "must not be NULL");
  const Inputs in(backend, a);
  Buffer<float> d_o(backend, static_cast<std::size_t>(a.total_q * a.heads * a.head_dim)),
      d_lse(backend, static_cast<std::size_t>(a.total_q * a.heads));
  if (a.total_q > 0) {
    models::attention_forward(backend,
                              {shape_on(a, in.q_offsets, in.k_offsets, in.key_valid), in.q.data(), in.k.data(),
                               in.v.data(), d_o.data(), d_lse.data()},
                              a.total_q);
  }
  download(backend, d_o, o);
  download(backend, d_lse, lse);
}

void attention_backward(Backend& backend, const AttentionArrays& a, const float* o, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv) {
  validate(a);
  for (const auto& [pointer, name] : {std::pair<const void*, const char*>{o, "o"}, {lse, "lse"}, {dout, "dout"},
                                      {dq, "dq"}, {dk, "dk"}, {dv, "dv"}}) {
    if (pointer == nullptr) throw Error::bad_input(name, "NULL", "must not be NULL");
  }
  const Inputs in(backend, a);
  const std::int64_t q_size = a.total_q * a.heads * a.head_dim, k_size = a.total_k * a.heads * a.head_dim;
  Buffer<float> d_o = upload(backend, o, q_size), d_lse = upload(backend, lse, a.total_q * a.heads),
                d_dout = upload(backend, dout, q_size), delta(backend, static_cast<std::size_t>(a.total_q * a.heads)),
                d_dq(backend, static_cast<std::size_t>(q_size)), d_dk(backend, static_cast<std::size_t>(k_size)),
                d_dv(backend, static_cast<std::size_t>(k_size));
  d_dq.zero();
  d_dk.zero();
  d_dv.zero();
  if (a.total_q > 0 && a.total_k > 0) {
    models::attention_backward(backend,
                               {shape_on(a, in.q_offsets, in.k_offsets, in.key_valid), in.q.data(), in.k.data(),
                                in.v.data(), d_o.data(), d_lse.data(), d_dout.data(), delta.data(), d_dq.data(),
                                d_dk.data(), d_dv.data(), a.total_q},
                               a.total_k);
  }
  download(backend, d_dq, dq);
  download(backend, d_dk, dk);
  download(backend, d_dv, dv);
}

}  // namespace engram::nn
