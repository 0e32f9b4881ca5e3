#include "engram/models/assembly/kcap_arrays.hpp"

#include <limits>
#include <string>

#include "engram/engine/error.hpp"
#include "engram/engine/memory/buffer.hpp"

namespace engram::assembly {

void kcap(Backend& backend, const FixedInput* inputs, std::int64_t batch, std::int64_t n, std::int64_t k,
          NeuronId* winners) {
  if (batch < 0) throw Error::bad_input("batch", std::to_string(batch), "must be >= 0");
  if (n < 1 || n > std::int64_t{std::numeric_limits<NeuronId>::max()}) {
    throw Error::bad_input("n", std::to_string(n), "must be in [1, 2^32 - 1]");
  }
  if (k < 1 || k > n) throw Error::bad_input("k", std::to_string(k), "must be in [1, n = " + std::to_string(n) + "]");
  if (batch == 0) return;
  if (inputs == nullptr || winners == nullptr) {
    throw Error::bad_input(inputs == nullptr ? "inputs" : "winners", "NULL", "must not be NULL");
  }
  Buffer<FixedInput> d_inputs(backend, static_cast<std::size_t>(batch * n));
  Buffer<NeuronId> d_winners(backend, static_cast<std::size_t>(batch * k));
  backend.copy_from_host(d_inputs.data(), inputs, d_inputs.size() * sizeof(FixedInput));
  backend.kcap(d_inputs.data(), batch, static_cast<NeuronId>(n), static_cast<std::uint32_t>(k), d_winners.data());
  backend.copy_to_host(winners, d_winners.data(), d_winners.size() * sizeof(NeuronId));
}

}  // namespace engram::assembly
