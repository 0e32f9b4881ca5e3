#pragma once
// k-cap on a caller's arrays (host memory): for each of `batch` rows of n fixed-point inputs
// (value * 2^32, as brains sum them), the k largest, ties broken by the lower index, written in
// increasing index order — the engine's batched k-cap (Backend::kcap), the one every brain step
// runs. The Python module (engram.kcap) and the C API (engram_kcap) call this.
//
//   std::vector<engram::NeuronId> winners(batch * k);
//   engram::assembly::kcap(backend, inputs.data(), batch, n, k, winners.data());
#include <cstdint>

#include "engram/engine/backend/backend.hpp"

namespace engram::assembly {

// Throws Error::bad_input naming the field (k, n, batch) for sizes the kernel cannot take.
void kcap(Backend& backend, const FixedInput* inputs, std::int64_t batch, std::int64_t n, std::int64_t k,
          NeuronId* winners);

}  // namespace engram::assembly
