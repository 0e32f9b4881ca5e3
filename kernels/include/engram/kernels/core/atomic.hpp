#pragma once
// Integer atomics that compile on both backends. Only integer atomics are offered on purpose:
// float atomics add in arbitrary order and break bit-reproducibility.
#include <cstdint>

#include "engram/kernels/core/hd.hpp"

namespace engram {

ENGRAM_HD inline void atomic_add(std::int64_t* target, std::int64_t value) {
#if ENGRAM_DEVICE_PASS
  atomicAdd(reinterpret_cast<unsigned long long*>(target), static_cast<unsigned long long>(value));
#else
  __atomic_fetch_add(target, value, __ATOMIC_RELAXED);
#endif
}

ENGRAM_HD inline void atomic_add(std::uint32_t* target, std::uint32_t value) {
#if ENGRAM_DEVICE_PASS
  atomicAdd(reinterpret_cast<unsigned int*>(target), static_cast<unsigned int>(value));
#else
  __atomic_fetch_add(target, value, __ATOMIC_RELAXED);
#endif
}

}  // namespace engram
