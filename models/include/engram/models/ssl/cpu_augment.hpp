#pragma once
// Host only: the CPU fast path of AugmentRows<float> (reach_runs.hpp). A row's Philox blocks are
// made 16 at a time (PhiloxBlocks, one vector lane per block) and its noise, dropout and
// standardisation run in loops the compiler vectorises, through AugmentRows's own static
// helpers, so the output is the bits of the portable functor (tests/unit/ssl_augment_test.cpp).
// ReachOnDevice::augment takes it on the CPU backend.
//
//   engram::ssl::AugmentRows<float> f{counts, bins, mean, inv_std, seeds, out, rows, neurons, step, tag, 0.8, 0.9, 0.1, true};
//   engram::ssl::cpu_augment_rows(f, runs * rows);   // OpenMP over the rows
#include <cstdint>

#include "engram/models/ssl/reach_runs.hpp"

namespace engram::ssl {

// f(i) for every i in [0, count), on the calling thread's OpenMP team.
void cpu_augment_rows(const AugmentRows<float>& f, std::int64_t count);

}  // namespace engram::ssl
