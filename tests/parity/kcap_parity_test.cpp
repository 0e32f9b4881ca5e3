// Backend::kcap against the scalar reference (sort by input descending, index ascending; take k;
// return in increasing neuron order) on fresh random inputs of many shapes and distributions:
// ties, equal rows, negative and extreme values, n spanning several CPU chunks (32768), k = 1
// and k = n, batch 1 and 7. The CPU backend must give the same bits on 1 and 2 threads. The
// host-only one-pass k-cap of the CPU fast paths (select/cpu_kcap.hpp) meets the same cases.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engram/engine/memory/buffer.hpp"
#include "engram/kernels/select/cpu_kcap.hpp"
#include "reference/reference.hpp"
#include "support/backends.hpp"
#include "support/threads.hpp"

namespace {

using engram::FixedInput;
using engram::NeuronId;

enum class Dist {
  wide,         // uniform over all of int64
  counts,       // small integer counts in fixed point (what k-cap sees in practice): many ties
  tiny,         // {0, 1, 2}: ties everywhere, the k-th value shared across chunks
  equal,        // one value: the winners are 0..k-1
  negative,     // [-1000, -1]
  extremes,     // int64 min/max and their neighbours, 0, +-1
  near_limits,  // within 2^20 of int64 min or max
  ascending,    // input = index: the winners are the top k indices
  descending,   // input = -index: the winners are 0..k-1
  sparse,       // zero except ~1% positive entries, fewer than k of them at times
};

const char* name(Dist d) {
  switch (d) {
    case Dist::wide: return "wide";
    case Dist::counts: return "counts";
    case Dist::tiny: return "tiny";
    case Dist::equal: return "equal";
    case Dist::negative: return "negative";
    case Dist::extremes: return "extremes";
    case Dist::near_limits: return "near_limits";
    case Dist::ascending: return "ascending";
    case Dist::descending: return "descending";
    case Dist::sparse: return "sparse";
  }
  return "?";
}

std::vector<FixedInput> make_inputs(Dist dist, std::int64_t batch, NeuronId n, std::mt19937_64& rng) {
  constexpr FixedInput kMin = std::numeric_limits<FixedInput>::min();
  constexpr FixedInput kMax = std::numeric_limits<FixedInput>::max();
  std::vector<FixedInput> x(static_cast<std::size_t>(batch) * n);
  std::uniform_int_distribution<FixedInput> any(kMin, kMax);
  std::uniform_int_distribution<FixedInput> count(0, 60);
  std::uniform_int_distribution<FixedInput> tiny(0, 2);
  std::uniform_int_distribution<FixedInput> negative(-1000, -1);
  std::uniform_int_distribution<int> pick(0, 6);
  std::uniform_int_distribution<FixedInput> offset(0, FixedInput{1} << 20);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const FixedInput extremes[] = {kMin, kMin + 1, -1, 0, 1, kMax - 1, kMax};
  for (std::size_t i = 0; i < x.size(); ++i) {
    const auto j = static_cast<FixedInput>(i % n);
    switch (dist) {
      case Dist::wide: x[i] = any(rng); break;
      case Dist::counts: x[i] = count(rng) * (FixedInput{1} << 32); break;
      case Dist::tiny: x[i] = tiny(rng); break;
      case Dist::equal: x[i] = 5; break;
      case Dist::negative: x[i] = negative(rng); break;
      case Dist::extremes: x[i] = extremes[pick(rng)]; break;
      case Dist::near_limits: x[i] = unit(rng) < 0.5 ? kMin + offset(rng) : kMax - offset(rng); break;
      case Dist::ascending: x[i] = j; break;
      case Dist::descending: x[i] = -j; break;
      case Dist::sparse: x[i] = unit(rng) < 0.01 ? count(rng) + 1 : 0; break;
    }
  }
  return x;
}

struct Shape {
  std::int64_t batch;
  NeuronId n;
  std::uint32_t k;
};

// Reports the first difference, not a dump of two vectors of half a million entries.
::testing::AssertionResult same_winners(const std::vector<NeuronId>& got,
                                        const std::vector<NeuronId>& want, std::uint32_t k) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << " != " << want.size();
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      return ::testing::AssertionFailure() << "brain " << i / k << " rank " << i % k << ": got "
                                           << got[i] << ", want " << want[i];
    }
  }
  return ::testing::AssertionSuccess();
}

constexpr NeuronId kSentinel = 0xFFFFFFFFu;
constexpr std::size_t kGuard = 64;

// Runs kcap on the backend; checks that nothing beyond [batch, k] was written and that the
// inputs were left alone.
std::vector<NeuronId> run_kcap(engram::Backend& backend, const std::vector<FixedInput>& inputs,
                               const Shape& s) {
  engram::Buffer<FixedInput> in(backend, inputs);
  const std::size_t out_size = static_cast<std::size_t>(s.batch) * s.k;
  engram::Buffer<NeuronId> out(backend, std::vector<NeuronId>(out_size + kGuard, kSentinel));
  backend.kcap(in.data(), s.batch, s.n, s.k, out.data());
  backend.synchronize();
  std::vector<NeuronId> host = out.to_host();
  for (std::size_t i = out_size; i < host.size(); ++i) {
    EXPECT_EQ(host[i], kSentinel) << "kcap wrote past the end of winners at " << i - out_size;
  }
  host.resize(out_size);
  EXPECT_EQ(in.to_host(), inputs) << "kcap modified its inputs";
  return host;
}

class KcapParity : public ::testing::TestWithParam<std::string> {};

TEST_P(KcapParity, MatchesReferenceAcrossShapesAndDistributions) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  // Large shapes first, then small ones, so cached workspaces are reused at smaller sizes too.
  const Shape shapes[] = {
      {7, 70001, 1000}, {1, 70001, 1},  {3, 32768, 300},   {2, 32769, 32769}, {7, 1000, 37},
      {7, 1000, 999},   {1, 1000, 500}, {7, 100, 1},       {7, 100, 100},     {1, 2, 1},
      {7, 2, 2},        {1, 1, 1},      {7, 1, 1},         {3, 257, 256},     {7, 65536, 2},
  };
  const Dist dists[] = {Dist::wide,        Dist::counts,    Dist::tiny,       Dist::equal,
                        Dist::negative,    Dist::extremes,  Dist::near_limits, Dist::ascending,
                        Dist::descending,  Dist::sparse};
  std::mt19937_64 rng(20240611);
  for (const Shape& s : shapes) {
    for (const Dist d : dists) {
      SCOPED_TRACE(::testing::Message() << "dist " << name(d) << ", batch " << s.batch << ", n "
                                        << s.n << ", k " << s.k);
      const std::vector<FixedInput> inputs = make_inputs(d, s.batch, s.n, rng);
      const std::vector<NeuronId> want = engram::reference::kcap(inputs, s.batch, s.n, s.k);
      // Thread-count invariance where work is split across threads in interesting ways: several
      // chunks or brains per thread, ties at the threshold. (Each kcap is ~40 parallel regions;
      // repeating all 150 cases per thread count would only cost time.)
      const bool compare_threads = s.batch * s.n >= 5000 &&
                                   (d == Dist::wide || d == Dist::tiny || d == Dist::counts ||
                                    d == Dist::sparse);
      if (backend.kind() == engram::BackendKind::cpu && compare_threads) {
        for (const int threads : engram::testing::kThreadCounts) {
          engram::testing::OmpThreads scoped(threads);
          ASSERT_TRUE(same_winners(run_kcap(backend, inputs, s), want, s.k)) << threads << " threads";
        }
      } else {
        ASSERT_TRUE(same_winners(run_kcap(backend, inputs, s), want, s.k));
      }
    }
  }
}

// Closed-form cases, independent of the reference implementation.
TEST_P(KcapParity, KnownAnswers) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  // All equal: ties go to the lowest indices.
  EXPECT_EQ(run_kcap(backend, std::vector<FixedInput>(10, 3), {1, 10, 4}),
            (std::vector<NeuronId>{0, 1, 2, 3}));
  // Per brain: distinct rows in one batch.
  const std::vector<FixedInput> two_brains = {5, 1, 9, 9, 0, /*brain 1*/ -1, -2, -3, 7, -1};
  EXPECT_EQ(run_kcap(backend, two_brains, {2, 5, 2}), (std::vector<NeuronId>{2, 3, 0, 3}));
  // The extreme keys order correctly around the sign bit.
  const std::vector<FixedInput> extremes = {0, std::numeric_limits<FixedInput>::min(), -1,
                                            std::numeric_limits<FixedInput>::max(), 1};
  EXPECT_EQ(run_kcap(backend, extremes, {1, 5, 1}), (std::vector<NeuronId>{3}));
  EXPECT_EQ(run_kcap(backend, extremes, {1, 5, 3}), (std::vector<NeuronId>{0, 3, 4}));
  EXPECT_EQ(run_kcap(backend, extremes, {1, 5, 4}), (std::vector<NeuronId>{0, 2, 3, 4}));
  // A tie at the threshold that straddles two CPU chunks (32768): inputs 1 everywhere except a
  // block of 2s; k takes all the 2s and the lowest-indexed 1s.
  const NeuronId n = 70001;
  std::vector<FixedInput> straddle(n, 1);
  for (NeuronId j = 40000; j < 40010; ++j) straddle[j] = 2;
  std::vector<NeuronId> expect;
  for (NeuronId j = 0; j < 5; ++j) expect.push_back(j);
  for (NeuronId j = 40000; j < 40010; ++j) expect.push_back(j);
  EXPECT_EQ(run_kcap(backend, straddle, {1, n, 15}), expect);
  // k = n returns every neuron.
  std::vector<NeuronId> all(n);
  for (NeuronId j = 0; j < n; ++j) all[j] = j;
  EXPECT_EQ(run_kcap(backend, straddle, {1, n, n}), all);
}

// The one-pass heap k-cap, brain by brain, against the same reference on the same cases.
TEST(CpuKcap, MatchesReferenceAcrossShapesAndDistributions) {
  const Shape shapes[] = {{7, 70001, 1000}, {1, 70001, 1}, {2, 32769, 32769}, {7, 1000, 37}, {7, 1000, 999},
                          {7, 100, 1},      {7, 100, 100}, {1, 2, 1},         {7, 1, 1},     {3, 257, 256}};
  const Dist dists[] = {Dist::wide,       Dist::counts,    Dist::tiny,      Dist::equal,      Dist::negative,
                        Dist::extremes,   Dist::near_limits, Dist::ascending, Dist::descending, Dist::sparse};
  std::mt19937_64 rng(77);
  std::vector<engram::select::KcapCandidate> heap;
  for (const Shape& s : shapes) {
    for (const Dist d : dists) {
      SCOPED_TRACE(::testing::Message() << "dist " << name(d) << ", batch " << s.batch << ", n " << s.n << ", k " << s.k);
      const std::vector<FixedInput> inputs = make_inputs(d, s.batch, s.n, rng);
      std::vector<NeuronId> got(static_cast<std::size_t>(s.batch) * s.k);
      for (std::int64_t b = 0; b < s.batch; ++b) {
        engram::select::cpu_kcap(inputs.data() + b * s.n, s.n, s.k, got.data() + b * s.k, heap);
      }
      ASSERT_TRUE(same_winners(got, engram::reference::kcap(inputs, s.batch, s.n, s.k), s.k));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, KcapParity, ::testing::Values("cpu", "cuda"),
                         engram::testing::backend_name);

}  // namespace
