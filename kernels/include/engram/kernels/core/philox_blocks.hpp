#pragma once
// Host only: consecutive Philox blocks of one keyed stream, many at a time, in the loop shape
// the compiler vectorises (one lane per block: blocks are independent given their counters).
// Block j's words are the 4j-th .. (4j+3)-th next_u32() of RngStream(key) (the counter layout of
// random.hpp, which this must follow; tests/unit/philox_blocks_test.cpp holds them together).
// The CPU fast paths use it where a stream is read far and fast (implicit graph rows).
//
//   engram::PhiloxBlocks blocks(key);
//   engram::PhiloxBlocks::Words w;
//   blocks.fill(0, w);   // w.v[0][j] .. w.v[3][j]: the 4 words of block j, j < kBlocks
#include <cstdint>

#include "engram/kernels/core/philox.hpp"
#include "engram/kernels/core/random.hpp"

namespace engram {

class PhiloxBlocks {
 public:
  static constexpr int kBlocks = 16;
  struct Words {
    alignas(64) std::uint32_t v[4][kBlocks];  // v[w][j]: word w of block first + j
  };

  explicit PhiloxBlocks(const RngKey& key)
      : key0_(static_cast<std::uint32_t>(key.seed)),
        key1_(static_cast<std::uint32_t>(key.seed >> 32)),
        purpose_bits_(static_cast<std::uint32_t>(key.purpose) << 24),
        index_(key.index),
        step_(key.step),
        brain_(key.brain) {}

  // Blocks first .. first + kBlocks - 1 (the block counter wraps at 2^24, as RngStream's does).
  void fill(std::uint32_t first, Words& out) const {
    std::uint32_t c0[kBlocks], c1[kBlocks], c2[kBlocks], c3[kBlocks];
    for (int j = 0; j < kBlocks; ++j) {
      c0[j] = purpose_bits_ | ((first + static_cast<std::uint32_t>(j)) & 0x00FFFFFFu);
      c1[j] = index_;
      c2[j] = step_;
      c3[j] = brain_;
    }
    std::uint32_t k0 = key0_, k1 = key1_;
    for (int round = 0; round < 10; ++round) {
      if (round > 0) {
        k0 += detail::kPhiloxW0;
        k1 += detail::kPhiloxW1;
      }
      for (int j = 0; j < kBlocks; ++j) {
        const std::uint64_t p0 = static_cast<std::uint64_t>(detail::kPhiloxM0) * c0[j];
        const std::uint64_t p1 = static_cast<std::uint64_t>(detail::kPhiloxM1) * c2[j];
        const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1[j] ^ k0;
        const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3[j] ^ k1;
        c0[j] = n0;
        c1[j] = static_cast<std::uint32_t>(p1);
        c2[j] = n2;
        c3[j] = static_cast<std::uint32_t>(p0);
      }
    }
    for (int j = 0; j < kBlocks; ++j) {
      out.v[0][j] = c0[j];
      out.v[1][j] = c1[j];
      out.v[2][j] = c2[j];
      out.v[3][j] = c3[j];
    }
  }

 private:
  std::uint32_t key0_, key1_;
  std::uint32_t purpose_bits_;
  std::uint32_t index_, step_, brain_;
};

}  // namespace engram
