#pragma once
// Batched k-cap: the k largest inputs of each brain's row of n, ties broken by the lower neuron
// index; winners come out in increasing neuron order.
//
// Portable algorithm (integer-only, so the result cannot depend on thread count):
//   1. Radix select, 8 bits per pass from the top: a per-(brain, chunk) histogram of the next
//      digit among keys that share the prefix found so far, then a per-brain pick of the digit
//      holding the k-th largest key. After 8 passes `threshold` is the k-th largest key exactly,
//      `above` counts keys greater than it and `remaining` is how many keys equal to it to take.
//   2. Per-chunk counts of keys above/equal to the threshold, a per-brain scan over chunks, and
//      a chunk-local walk that writes each selected neuron to its rank among the selected.
// The chunk length is a backend tuning knob; results are identical for any chunk length.
#include <cstdint>

#include "engram/kernels/core/atomic.hpp"
#include "engram/kernels/core/fixed_point.hpp"
#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/core/types.hpp"

namespace engram::select {

inline constexpr int kRadixBits = 8;
inline constexpr int kRadixBins = 1 << kRadixBits;
inline constexpr int kRadixPasses = 64 / kRadixBits;

struct KcapShape {
  std::int64_t batch;
  NeuronId n;
  std::uint32_t k;
  NeuronId chunk;  // elements per work item
  ENGRAM_HD std::int64_t chunks_per_brain() const { return (n + chunk - 1) / chunk; }
};

// Per-brain state of the radix select.
struct KcapThreshold {
  std::uint64_t key;         // the prefix found so far; the k-th largest key once done
  std::uint32_t remaining;   // rank of the k-th largest within keys sharing the prefix
  std::uint32_t above;       // keys strictly greater than the prefix group
};

struct KcapInit {
  KcapThreshold* state;
  std::uint32_t k;
  ENGRAM_HD void operator()(std::int64_t b) const { state[b] = KcapThreshold{0, k, 0}; }
};

struct RadixHistogram {
  KcapShape shape;
  const FixedInput* inputs;      // [B, n]
  const KcapThreshold* state;    // [B]
  std::uint32_t* histogram;      // [B, kRadixBins], zeroed before the pass
  int shift;                     // bit position of this pass's digit

  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t chunks = shape.chunks_per_brain();
    const std::int64_t b = item / chunks;
    const std::int64_t begin = (item % chunks) * shape.chunk;
    const std::int64_t end = begin + shape.chunk < shape.n ? begin + shape.chunk : shape.n;
    const std::uint64_t prefix_mask = shift == 64 - kRadixBits ? 0 : ~0ull << (shift + kRadixBits);
    const std::uint64_t prefix = state[b].key & prefix_mask;
    std::uint32_t local[kRadixBins];
    for (int d = 0; d < kRadixBins; ++d) local[d] = 0;
    const FixedInput* row = inputs + b * static_cast<FlatIndex>(shape.n);
    for (std::int64_t j = begin; j < end; ++j) {
      const std::uint64_t key = ordered_key(row[j]);
      if ((key & prefix_mask) == prefix) ++local[(key >> shift) & (kRadixBins - 1)];
    }
    std::uint32_t* out = histogram + b * kRadixBins;
    for (int d = 0; d < kRadixBins; ++d) {
      if (local[d] != 0) atomic_add(out + d, local[d]);
    }
  }
};

struct RadixPick {
  const std::uint32_t* histogram;  // [B, kRadixBins]
  KcapThreshold* state;
  int shift;

  ENGRAM_HD void operator()(std::int64_t b) const {
    KcapThreshold s = state[b];
    const std::uint32_t* h = histogram + b * kRadixBins;
    std::uint32_t higher = 0;
    for (int d = kRadixBins - 1; d >= 0; --d) {
      if (higher + h[d] >= s.remaining) {
        s.key |= static_cast<std::uint64_t>(d) << shift;
        s.above += higher;
        s.remaining -= higher;
        break;
      }
      higher += h[d];
    }
    state[b] = s;
  }
};

// Counts, per chunk, the keys above the threshold and equal to it.
struct ChunkCount {
  KcapShape shape;
  const FixedInput* inputs;
  const KcapThreshold* state;
  std::uint32_t* chunk_above;  // [B, chunks]
  std::uint32_t* chunk_equal;  // [B, chunks]

  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t chunks = shape.chunks_per_brain();
    const std::int64_t b = item / chunks;
    const std::int64_t begin = (item % chunks) * shape.chunk;
    const std::int64_t end = begin + shape.chunk < shape.n ? begin + shape.chunk : shape.n;
    const std::uint64_t threshold = state[b].key;
    const FixedInput* row = inputs + b * static_cast<FlatIndex>(shape.n);
    std::uint32_t above = 0, equal = 0;
    for (std::int64_t j = begin; j < end; ++j) {
      const std::uint64_t key = ordered_key(row[j]);
      above += key > threshold;
      equal += key == threshold;
    }
    chunk_above[item] = above;
    chunk_equal[item] = equal;
  }
};

// Turns the per-chunk counts of one brain into exclusive prefix sums, in place.
struct ChunkScan {
  std::int64_t chunks;
  std::uint32_t* chunk_above;
  std::uint32_t* chunk_equal;

  ENGRAM_HD void operator()(std::int64_t b) const {
    std::uint32_t above = 0, equal = 0;
    for (std::int64_t c = b * chunks; c < (b + 1) * chunks; ++c) {
      const std::uint32_t a = chunk_above[c], e = chunk_equal[c];
      chunk_above[c] = above;
      chunk_equal[c] = equal;
      above += a;
      equal += e;
    }
  }
};

struct ChunkWrite {
  KcapShape shape;
  const FixedInput* inputs;
  const KcapThreshold* state;
  const std::uint32_t* above_before;  // [B, chunks]
  const std::uint32_t* equal_before;  // [B, chunks]
  NeuronId* winners;                  // [B, k]

  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t chunks = shape.chunks_per_brain();
    const std::int64_t b = item / chunks;
    const std::int64_t begin = (item % chunks) * shape.chunk;
    const std::int64_t end = begin + shape.chunk < shape.n ? begin + shape.chunk : shape.n;
    const std::uint64_t threshold = state[b].key;
    const std::uint32_t take_equal = state[b].remaining;
    std::uint32_t above = above_before[item];
    std::uint32_t equal = equal_before[item];
    const FixedInput* row = inputs + b * static_cast<FlatIndex>(shape.n);
    NeuronId* out = winners + b * static_cast<FlatIndex>(shape.k);
    for (std::int64_t j = begin; j < end; ++j) {
      const std::uint64_t key = ordered_key(row[j]);
      if (key > threshold) {
        out[above + (equal < take_equal ? equal : take_equal)] = static_cast<NeuronId>(j);
        ++above;
      } else if (key == threshold) {
        if (equal < take_equal) out[above + equal] = static_cast<NeuronId>(j);
        ++equal;
      }
    }
  }
};

}  // namespace engram::select
