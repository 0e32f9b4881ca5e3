#pragma once
// Synaptic input is accumulated in 64-bit fixed point. Integer addition is associative, so the
// sum is the same bits whatever order threads add in (atomics included) — the property that
// makes a brain's trajectory independent of thread count and batch packing.
//
// With 32 fractional bits, any float weight >= 2^-9 converts exactly (its ulp is >= 2^-32), so
// for the weights Hebbian learning produces the fixed-point sum is the exact real sum. Inputs
// up to 2^31 are representable.
#include <cmath>
#include <cstdint>

#include "engram/kernels/core/hd.hpp"

namespace engram {

using FixedInput = std::int64_t;
inline constexpr double kFixedOne = 4294967296.0;  // 2^32

// Hebbian growth saturates here (all modes). Unbounded multiplicative growth would otherwise
// overflow the fixed-point sums after a few hundred steps of repeated firing (1.05^400 ~
// 3e8); with the ceiling, a neuron's input stays exact below 2^31 as long as fewer than 2^15
// in-edges from firing neurons reach it.
inline constexpr float kMaxWeight = 65536.0f;

// Saturates instead of overflowing (llrint of an out-of-range value is undefined).
ENGRAM_HD inline FixedInput to_fixed(double value) {
  constexpr double kLimit = 4611686018427387904.0;  // 2^62: leaves headroom for sums
  const double scaled = value * kFixedOne;
  if (scaled >= kLimit) return static_cast<FixedInput>(kLimit);
  if (scaled <= -kLimit) return -static_cast<FixedInput>(kLimit);
  return static_cast<FixedInput>(::llrint(scaled));
}

ENGRAM_HD inline FixedInput to_fixed(float weight) { return to_fixed(static_cast<double>(weight)); }

// Equal to to_fixed(weight) for every float, without the llrint call on the common path (hot
// loops of the CPU fast paths): a float of magnitude in [2^-9, 2^30) has an ulp of at least
// 2^-32, so weight * 2^32 is an integer below 2^62 and converting it is exact.
ENGRAM_HD inline FixedInput to_fixed_exact_float(float weight) {
  const float magnitude = weight < 0.0f ? -weight : weight;
  if (magnitude >= 0x1p-9f && magnitude < 0x1p30f) {
    return static_cast<FixedInput>(static_cast<double>(weight) * kFixedOne);
  }
  return to_fixed(weight);
}

ENGRAM_HD inline double from_fixed(FixedInput value) {
  return static_cast<double>(value) / kFixedOne;
}

// Maps a signed input onto an unsigned key with the same order, for radix selection.
ENGRAM_HD inline std::uint64_t ordered_key(FixedInput value) {
  return static_cast<std::uint64_t>(value) ^ 0x8000000000000000ull;
}

}  // namespace engram
