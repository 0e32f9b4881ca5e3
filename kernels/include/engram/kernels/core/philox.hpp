#pragma once
// Philox4x32-10 (Salmon, Moraes, Dror & Shaw, SC'11): a counter-based generator. Output is a
// pure function of (counter, key), so any thread can draw any number without shared state,
// which is what makes engram's results independent of thread count and batch packing.
//
//   engram::U32x4 r = engram::philox4x32_10({0, 0, 0, 0}, {0, 0});
//   // r == {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8} (Random123 known answer)
#include <cstdint>

#include "engram/kernels/core/hd.hpp"

namespace engram {

struct U32x4 {
  std::uint32_t v[4];
};
struct U32x2 {
  std::uint32_t v[2];
};

namespace detail {
inline constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u;
inline constexpr std::uint32_t kPhiloxM1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9u;
inline constexpr std::uint32_t kPhiloxW1 = 0xBB67AE85u;

ENGRAM_HD ENGRAM_FORCEINLINE void mulhilo32(std::uint32_t a, std::uint32_t b, std::uint32_t& hi,
                                            std::uint32_t& lo) {
  const std::uint64_t product = static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b);
  hi = static_cast<std::uint32_t>(product >> 32);
  lo = static_cast<std::uint32_t>(product);
}
}  // namespace detail

ENGRAM_HD inline U32x4 philox4x32_10(U32x4 ctr, U32x2 key) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key.v[0] += detail::kPhiloxW0;
      key.v[1] += detail::kPhiloxW1;
    }
    std::uint32_t hi0, lo0, hi1, lo1;
    detail::mulhilo32(detail::kPhiloxM0, ctr.v[0], hi0, lo0);
    detail::mulhilo32(detail::kPhiloxM1, ctr.v[2], hi1, lo1);
    ctr = U32x4{{hi1 ^ ctr.v[1] ^ key.v[0], lo1, hi0 ^ ctr.v[3] ^ key.v[1], lo0}};
  }
  return ctr;
}

}  // namespace engram
