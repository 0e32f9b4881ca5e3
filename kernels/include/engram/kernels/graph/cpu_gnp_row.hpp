#pragma once
// Host only: the targets of a GnpRow (gnp.hpp), exactly the same ones in the same order, at a
// fraction of the cost; likewise the successes of a BernoulliSkip (sparse_edges.hpp), which
// skips the same way on any keyed stream (cpu_bernoulli_skip, the lazy mode's new edges). GnpRow spends an edge's time on one Philox call and one libm log; here
// Philox runs 16 blocks at a time (PhiloxBlocks, vectorised) and the log is a branch-free
// polynomial (log_unit below, vectorised) that is only trusted where it cannot change the skip:
// skip = floor(log(u) / log(1 - p)) is taken from the polynomial when the whole interval of its
// error bound lies between the same two integers, and from libm's log exactly as GnpRow computes
// it otherwise (about once in 10^9 draws). So the rows are GnpRow's bits, not a statistical twin;
// tests/unit/cpu_gnp_row_test.cpp compares them row by row. The CPU fast paths of the exact modes
// generate rows with it; GnpRow stays the portable (CUDA) path and the definition.
//
//   engram::graph::cpu_gnp_row(graph_seed, fiber, source, n_target, p, kNoExclusion,
//                               [&](NeuronId t) { row.push_back(t); });
#include <cmath>
#include <cstdint>
#include <cstring>

#include "engram/kernels/core/cpu_exp.hpp"  // ENGRAM_CPU_VECTOR_MATH
#include "engram/kernels/core/philox_blocks.hpp"
#include "engram/kernels/graph/gnp.hpp"
#include "engram/kernels/graph/sparse_edges.hpp"

namespace engram::graph {

namespace detail {

// RngStream::uniform() of the 64-bit draw (hi, lo), bit for bit.
ENGRAM_CPU_VECTOR_MATH inline double unit_from_words(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t bits = ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11;
  const double u = (static_cast<double>(bits) + 0.5) * 0x1.0p-53;
  return u < 1.0 ? u : 0x1.fffffffffffffp-1;
}

// ln u for normal positive u < 1: u = 2^e m with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s),
// s = (m - 1) / (m + 1), |s| < 0.172, by its series to s^17 (truncation < 1e-14); e ln 2 in a
// Cody-Waite split. Absolute error below 1e-13 for every u the uniforms produce (tested against
// std::log); only +, *, / and bit operations, so it vectorises.
ENGRAM_CPU_VECTOR_MATH inline double log_unit(double u) {
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // k * kLn2Hi is exact for |k| < 2^11
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  std::uint64_t bits;
  std::memcpy(&bits, &u, sizeof bits);
  const auto exponent = static_cast<std::int32_t>(bits >> 52) - 1023;
  const std::uint64_t mantissa_bits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
  double m;
  std::memcpy(&m, &mantissa_bits, sizeof m);
  const bool above = m > 1.4142135623730951;
  m = above ? m * 0.5 : m;
  const double e = static_cast<double>(exponent + (above ? 1 : 0));
  const double s = (m - 1.0) / (m + 1.0);
  const double z = s * s;
  const double series =
      1.0 + z * (1.0 / 3 + z * (1.0 / 5 + z * (1.0 / 7 + z * (1.0 / 9 + z * (1.0 / 11 + z * (1.0 / 13 +
      z * (1.0 / 15 + z * (1.0 / 17))))))));
  return e * kLn2Hi + (2.0 * s * series + e * kLn2Lo);
}

inline constexpr double kLogUnitError = 1e-13;

// The uniforms of a chunk of blocks in stream order, and log_unit(u) * inv_log_q of each. A call
// per chunk, not inlined into callers built with other options: the attribute stays on the loops
// it lets vectorise.
ENGRAM_CPU_VECTOR_MATH inline void gnp_chunk(const PhiloxBlocks::Words& words, double inv_log_q, double* u,
                                             double* y) {
  for (int j = 0; j < PhiloxBlocks::kBlocks; ++j) {
    u[2 * j] = unit_from_words(words.v[0][j], words.v[1][j]);
    u[2 * j + 1] = unit_from_words(words.v[2][j], words.v[3][j]);
  }
  for (int i = 0; i < 2 * PhiloxBlocks::kBlocks; ++i) y[i] = log_unit(u[i]) * inv_log_q;
}

}  // namespace detail

// The successes of BernoulliSkip(key, count, p) (sparse_edges.hpp), 0 < p < 1: the same indices
// in the same order, by the method above.
template <class Emit>
void skip_successes(const RngKey& key, std::int64_t count, double p, Emit&& emit) {
  constexpr int kDraws = 2 * PhiloxBlocks::kBlocks;
  const PhiloxBlocks blocks(key);
  const double inv_log_q = 1.0 / ::log1p(-p);  // as GnpRow and BernoulliSkip compute it
  // Bound on |polynomial skip - libm skip| before the floor: the log errors (libm's within an
  // ulp of |ln u| <= 38) scaled by |1 / ln q|, plus a few roundings of the product.
  const double scaled_error = std::fabs(inv_log_q) * (10.0 * detail::kLogUnitError);
  PhiloxBlocks::Words words;
  double u[kDraws], y[kDraws];
  std::int64_t cursor = 0;
  for (std::uint32_t first = 0;; first += PhiloxBlocks::kBlocks) {
    blocks.fill(first, words);
    detail::gnp_chunk(words, inv_log_q, u, y);
    for (int i = 0; i < kDraws; ++i) {
      const double margin = scaled_error + y[i] * 0x1p-48;
      const double low = ::floor(y[i] - margin);
      const double skip = low == ::floor(y[i] + margin) ? low : ::floor(::log(u[i]) * inv_log_q);
      // From here on, GnpRow::next (BernoulliSkip::next) step for step.
      if (skip >= static_cast<double>(count)) return;
      const std::int64_t candidate = cursor + static_cast<std::int64_t>(skip);
      if (candidate >= count) return;
      cursor = candidate + 1;
      emit(candidate);
    }
  }
}

// The successes of BernoulliSkip(key, count, p), for any p. A chunk of blocks costs about as much
// as 30 scalar draws, so runs expected to need fewer draws take BernoulliSkip itself.
template <class Emit>
void cpu_bernoulli_skip(const RngKey& key, std::int64_t count, double p, Emit&& emit) {
  constexpr double kScalarBelow = 32.0;  // expected successes
  if (p <= 0.0 || p >= 1.0 || static_cast<double>(count) * p < kScalarBelow) {
    BernoulliSkip skip(key, count, p);
    for (std::int64_t i; skip.next(i);) emit(i);
    return;
  }
  skip_successes(key, count, p, emit);
}

template <class Emit>
void cpu_gnp_row(std::uint64_t graph_seed, std::uint32_t fiber, NeuronId source, NeuronId n_target, double p,
                 NeuronId excluded_target, Emit&& emit) {
  if (p >= 1.0) {
    GnpRow row(graph_seed, fiber, source, n_target, p, excluded_target);
    for (NeuronId t; row.next(t);) emit(t);
    return;
  }
  skip_successes(RngKey{graph_seed, 0, purpose::graph_edges, fiber, source}, n_target, p, [&](std::int64_t candidate) {
    if (static_cast<NeuronId>(candidate) != excluded_target) emit(static_cast<NeuronId>(candidate));
  });
}

}  // namespace engram::graph
