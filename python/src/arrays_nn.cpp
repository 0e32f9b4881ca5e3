// engram.nn on arrays: attention forward and backward (models/nn/attention_arrays.hpp) on numpy
// float32 arrays in the packed layout [tokens, heads, head_dim]; the Python wrapper
// (engram/nn.py) turns padded [batch, T, heads, head_dim] input and masks into this layout.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/models/nn/attention_arrays.hpp"
#include "py_support.hpp"

namespace engram::py {

namespace {

using namespace nb::literals;

using Tokens = nb::ndarray<const float, nb::ndim<3>, nb::c_contig, nb::device::cpu>;
using Rows = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using Offsets = nb::ndarray<const std::int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Mask = nb::ndarray<const std::uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

void same_shape(const Tokens& got, const Tokens& want, const char* name, const char* like) {
  for (std::size_t d = 0; d < 3; ++d) {
    if (got.shape(d) != want.shape(d)) {
      throw Error::bad_input(std::string(name) + ".shape[" + std::to_string(d) + "]", std::to_string(got.shape(d)),
                             std::string("must equal ") + like + ".shape[" + std::to_string(d) + "], " +
                                 std::to_string(want.shape(d)));
    }
  }
}

nn::AttentionArrays arrays_of(const Tokens& q, const Tokens& k, const Tokens& v, const Offsets& q_offsets,
                              const Offsets& k_offsets, bool causal, const std::optional<Mask>& key_valid,
                              float scale) {
  if (k.shape(1) != q.shape(1) || k.shape(2) != q.shape(2)) {
    throw Error::bad_input("k.shape", std::to_string(k.shape(1)) + "x" + std::to_string(k.shape(2)),
                           "heads and head_dim must match q's, " + std::to_string(q.shape(1)) + "x" +
                               std::to_string(q.shape(2)));
  }
  same_shape(v, k, "v", "k");
  if (q_offsets.shape(0) != k_offsets.shape(0)) {
    throw Error::bad_input("k_offsets.size", std::to_string(k_offsets.shape(0)),
                           "must equal q_offsets.size, " + std::to_string(q_offsets.shape(0)));
  }
  if (q_offsets.shape(0) < 2) {
    throw Error::bad_input("offsets.size", std::to_string(q_offsets.shape(0)), "must be >= 2 (one sequence or more)");
  }
  if (key_valid && key_valid->shape(0) != k.shape(0)) {
    throw Error::bad_input("key_valid.size", std::to_string(key_valid->shape(0)),
                           "must equal the number of key rows, " + std::to_string(k.shape(0)));
  }
  nn::AttentionArrays a;
  a.q = q.data();
  a.k = k.data();
  a.v = v.data();
  a.total_q = static_cast<std::int64_t>(q.shape(0));
  a.total_k = static_cast<std::int64_t>(k.shape(0));
  a.heads = static_cast<std::int64_t>(q.shape(1));
  a.head_dim = static_cast<std::int64_t>(q.shape(2));
  a.q_offsets = q_offsets.data();
  a.k_offsets = k_offsets.data();
  a.sequences = static_cast<std::int64_t>(q_offsets.shape(0)) - 1;
  a.causal = causal;
  a.key_valid = key_valid ? key_valid->data() : nullptr;
  a.scale = scale;
  return a;
}

}  // namespace

void register_nn(nb::module_& m) {
  m.def(
      "_attention_forward",
      [](const Tokens& q, const Tokens& k, const Tokens& v, const Offsets& q_offsets, const Offsets& k_offsets,
         bool causal, const std::optional<Mask>& key_valid, float scale, const std::optional<nb::object>& backend) {
        const nn::AttentionArrays a = arrays_of(q, k, v, q_offsets, k_offsets, causal, key_valid, scale);
        const auto be = resolve_backend(backend, "cpu");
        std::vector<float> o(static_cast<std::size_t>(a.total_q * a.heads * a.head_dim)),
            lse(static_cast<std::size_t>(a.total_q * a.heads));
        {
          nb::gil_scoped_release release;
          nn::attention_forward(*be, a, o.data(), lse.data());
        }
        const auto tq = static_cast<std::size_t>(a.total_q), h = static_cast<std::size_t>(a.heads),
                   d = static_cast<std::size_t>(a.head_dim);
        return nb::make_tuple(owning_array(std::move(o), {tq, h, d}), owning_array(std::move(lse), {tq, h}));
      },
      "q"_a, "k"_a, "v"_a, "q_offsets"_a, "k_offsets"_a, "causal"_a, "key_valid"_a.none(), "scale"_a,
      "backend"_a = nb::none(), "Packed attention forward: (o, lse); see engram.nn.attention.");
  m.def(
      "_attention_backward",
      [](const Tokens& q, const Tokens& k, const Tokens& v, const Tokens& o, const Rows& lse, const Tokens& dout,
         const Offsets& q_offsets, const Offsets& k_offsets, bool causal, const std::optional<Mask>& key_valid,
         float scale, const std::optional<nb::object>& backend) {
        const nn::AttentionArrays a = arrays_of(q, k, v, q_offsets, k_offsets, causal, key_valid, scale);
        same_shape(o, q, "o", "q");
        same_shape(dout, q, "dout", "q");
        if (lse.shape(0) != q.shape(0) || lse.shape(1) != q.shape(1)) {
          throw Error::bad_input("lse.shape", std::to_string(lse.shape(0)) + "x" + std::to_string(lse.shape(1)),
                                 "must be [q rows, heads] (the forward pass's lse)");
        }
        const auto be = resolve_backend(backend, "cpu");
        std::vector<float> dq(static_cast<std::size_t>(a.total_q * a.heads * a.head_dim)),
            dk(static_cast<std::size_t>(a.total_k * a.heads * a.head_dim)), dv(dk.size());
        {
          nb::gil_scoped_release release;
          nn::attention_backward(*be, a, o.data(), lse.data(), dout.data(), dq.data(), dk.data(), dv.data());
        }
        const auto tq = static_cast<std::size_t>(a.total_q), tk = static_cast<std::size_t>(a.total_k),
                   h = static_cast<std::size_t>(a.heads), d = static_cast<std::size_t>(a.head_dim);
        return nb::make_tuple(owning_array(std::move(dq), {tq, h, d}), owning_array(std::move(dk), {tk, h, d}),
                              owning_array(std::move(dv), {tk, h, d}));
      },
      "q"_a, "k"_a, "v"_a, "o"_a, "lse"_a, "dout"_a, "q_offsets"_a, "k_offsets"_a, "causal"_a, "key_valid"_a.none(),
      "scale"_a, "backend"_a = nb::none(), "Packed attention backward: (dq, dk, dv); see engram.nn.attention.");
}

}  // namespace engram::py
