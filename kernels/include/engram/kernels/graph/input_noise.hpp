#pragma once
// NEMO's noisy choice: i.i.d. Gaussian noise of standard deviation sigma (in units of one
// unit-weight synapse) added to every neuron's input before the k-cap. Each draw is keyed by
// (brain's run seed, brain index, input_noise, step, neuron), so noise is reproducible and
// independent of batch packing.
#include <cstdint>

#include "engram/kernels/core/fixed_point.hpp"
#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/core/types.hpp"
#include "engram/kernels/graph/purposes.hpp"

namespace engram::graph {

struct InputNoise {
  FixedInput* inputs;              // [B, n]
  const std::uint64_t* run_seed;   // [B]
  const std::uint32_t* brain;      // [B]
  NeuronId n;
  std::uint32_t step;
  std::uint32_t area;  // keeps the noise of different areas independent
  double sigma;

  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t b = item / n;
    const auto neuron = static_cast<std::uint32_t>(item % n);
    // The area rides in the upper bits of the step so one key field stays free for the neuron.
    RngStream rng(RngKey{run_seed[b], brain[b], purpose::input_noise, step ^ (area << 24), neuron});
    inputs[item] += to_fixed(sigma * rng.normal());
  }
};

}  // namespace engram::graph
