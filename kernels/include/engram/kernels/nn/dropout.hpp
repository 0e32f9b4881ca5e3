#pragma once
// Inverted dropout with masks drawn from Philox keyed by (seed, layer, step, element): the mask
// is a pure function of its key, so the backward pass regenerates it instead of storing it, and a
// run reproduces bit for bit on any backend or thread count.
//
//   engram::nn::DropoutKey key{seed, layer, step, 0.5f};
//   engram::nn::DropoutForward<float>{x, y, key}(i);    // y = x * keep / (1 - p)
//   engram::nn::DropoutBackward<float>{dy, dx, key}(i); // same mask
#include <cstdint>

#include "engram/kernels/core/random.hpp"
#include "engram/kernels/nn/purposes.hpp"

namespace engram::nn {

struct DropoutKey {
  std::uint64_t seed = 0;
  std::uint32_t layer = 0;  // distinguishes dropout sites of one network
  std::uint32_t step = 0;   // training step
  double p = 0.5;           // drop probability

  // The multiplier of element i: 0 or 1/(1-p).
  template <class T>
  ENGRAM_HD T scale(std::int64_t i) const {
    if (p <= 0.0) return T(1);
    // Four uniforms per Philox block: element i uses lane i % 4 of block i / 4.
    RngStream rng(RngKey{seed, layer, purpose::nn_dropout, step, static_cast<std::uint32_t>(i >> 2)});
    std::uint32_t bits = 0;
    for (std::int64_t lane = 0; lane <= (i & 3); ++lane) bits = rng.next_u32();
    const double u = (static_cast<double>(bits) + 0.5) * (1.0 / 4294967296.0);
    return u < p ? T(0) : static_cast<T>(1.0 / (1.0 - p));
  }
};

// Batched runs: element i of run r = i / items_per_run is keyed by run_seeds[r] and its index in
// the run, so a run's mask is the same alone or in a batch.
struct RunDropout {
  const std::uint64_t* run_seeds;
  std::int64_t items_per_run;
  DropoutKey key;  // layer, step, p (its seed is ignored)
  template <class T>
  ENGRAM_HD T scale(std::int64_t i) const {
    DropoutKey k = key;
    k.seed = run_seeds[i / items_per_run];
    return k.scale<T>(i % items_per_run);
  }
};

template <class T>
struct RunDropoutForward {
  const T* x;
  T* y;
  RunDropout mask;
  ENGRAM_HD void operator()(std::int64_t i) const { y[i] = x[i] * mask.scale<T>(i); }
};

template <class T>
struct RunDropoutBackward {
  const T* dy;
  T* dx;
  RunDropout mask;
  ENGRAM_HD void operator()(std::int64_t i) const { dx[i] = dy[i] * mask.scale<T>(i); }
};

template <class T>
struct DropoutForward {
  const T* x;
  T* y;
  DropoutKey key;
  ENGRAM_HD void operator()(std::int64_t i) const { y[i] = x[i] * key.scale<T>(i); }
};

template <class T>
struct DropoutBackward {
  const T* dy;
  T* dx;
  DropoutKey key;
  ENGRAM_HD void operator()(std::int64_t i) const { dx[i] = dy[i] * key.scale<T>(i); }
};

}  // namespace engram::nn
