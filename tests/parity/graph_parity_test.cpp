// The graph and plasticity kernels on each backend against the scalar references:
//   gnp_row_degree / exclusive_scan / gnp_row_fill  vs GnpRow run row by row,
//   accumulate_inputs                               vs reference::accumulate,
//   mark_winners + hebbian_scale                    vs reference::hebbian,
// on row tables materialised in two rounds of shuffled requests (as implicit mode grows them),
// with absent rows, per-brain seeds and p (p = 1 included), self-exclusion, ragged firing sets
// (brain b fires only the first active[b] of its row), and random float weights. The CPU backend must give the same bits on 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "engram/engine/backend/launch.hpp"
#include "engram/engine/memory/buffer.hpp"
#include "engram/kernels/graph/accumulate.hpp"
#include "engram/kernels/graph/gnp.hpp"
#include "engram/kernels/plasticity/hebbian.hpp"
#include "engram/kernels/core/fixed_point.hpp"
#include "reference/reference.hpp"
#include "support/backends.hpp"
#include "support/threads.hpp"

namespace {

using engram::Buffer;
using engram::EdgeOffset;
using engram::FixedInput;
using engram::NeuronId;
using engram::reference::Edge;
using engram::reference::EdgeRows;

struct GraphCase {
  const char* name;
  std::uint32_t batch;
  NeuronId n_source, n_target;
  std::vector<double> p;  // per brain (cycled)
  bool exclude_self;
  double requested;       // fraction of (brain, source) rows materialised
  std::uint32_t firing;   // firing sources per brain
  std::uint32_t k;        // winners per brain
  bool ragged = false;    // brain b fires only the first active[b] entries (0..firing)
};

std::vector<GraphCase> cases() {
  return {
      {"single_brain", 1, 600, 800, {0.05}, false, 1.0, 40, 30},
      {"batch7_mixed_p", 7, 500, 1200, {0.02, 0.1, 0.3, 0.05}, false, 0.6, 50, 60},
      {"recurrent_no_self", 7, 700, 700, {0.05, 0.2}, true, 0.5, 70, 70},
      {"dense_p1", 3, 40, 300, {1.0}, false, 1.0, 10, 25},
      {"dense_p1_no_self", 2, 50, 50, {1.0, 0.5}, true, 0.8, 20, 10},
      {"tiny", 7, 1, 1, {0.5, 1.0}, false, 1.0, 1, 1},
      {"sparse_rows", 5, 2000, 3000, {0.002}, false, 0.3, 200, 100},
      {"ragged", 7, 800, 1000, {0.05, 0.2}, false, 0.7, 60, 50, true},
      {"ragged_recurrent", 4, 500, 500, {0.1}, true, 1.0, 100, 100, true},
  };
}

// Everything a run produces, downloaded, for comparison across thread counts and backends.
struct Outcome {
  std::vector<EdgeOffset> degree, offset, row_start;
  std::vector<std::uint32_t> row_degree;
  std::vector<NeuronId> targets;
  std::vector<float> weights_built, weights_after;
  std::vector<FixedInput> inputs;
  std::vector<std::uint8_t> is_winner_marked, is_winner_cleared;
  EdgeOffset total = 0;
  bool operator==(const Outcome&) const = default;
};

struct Fixture {
  GraphCase c;
  std::vector<std::uint64_t> graph_seed;
  std::vector<double> p;
  std::vector<std::uint32_t> req_brain[2];
  std::vector<NeuronId> req_source[2];
  std::vector<NeuronId> firing;   // [batch, firing], distinct per brain
  std::vector<NeuronId> winners;  // [batch, k], distinct and sorted per brain
  std::vector<float> factor;      // [batch]
  std::vector<std::uint32_t> active;  // [batch] when ragged, else empty
  std::uint64_t weight_seed = 0;
};

Fixture make_fixture(const GraphCase& c, std::mt19937_64& rng) {
  Fixture f{c, {}, {}, {}, {}, {}, {}, {}, {}, rng()};
  for (std::uint32_t b = 0; b < c.batch; ++b) {
    f.graph_seed.push_back(rng());
    f.p.push_back(c.p[b % c.p.size()]);
  }
  // Requested rows, shuffled, split over two rounds.
  std::vector<std::pair<std::uint32_t, NeuronId>> slots;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (std::uint32_t b = 0; b < c.batch; ++b) {
    for (NeuronId s = 0; s < c.n_source; ++s) {
      if (unit(rng) < c.requested) slots.emplace_back(b, s);
    }
  }
  std::shuffle(slots.begin(), slots.end(), rng);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const int round = i < slots.size() / 3 ? 0 : 1;
    f.req_brain[round].push_back(slots[i].first);
    f.req_source[round].push_back(slots[i].second);
  }
  auto sample = [&rng](NeuronId n, std::uint32_t count, bool sorted) {
    std::vector<NeuronId> all(n);
    std::iota(all.begin(), all.end(), NeuronId{0});
    std::shuffle(all.begin(), all.end(), rng);
    all.resize(count);
    if (sorted) std::sort(all.begin(), all.end());
    return all;
  };
  for (std::uint32_t b = 0; b < c.batch; ++b) {
    const auto fire = sample(c.n_source, c.firing, false);  // unsorted on purpose
    f.firing.insert(f.firing.end(), fire.begin(), fire.end());
    const auto win = sample(c.n_target, c.k, true);
    f.winners.insert(f.winners.end(), win.begin(), win.end());
    f.factor.push_back(static_cast<float>(1.0 + 0.5 * unit(rng)));
    if (c.ragged) {
      // Brain 0 fires nothing, brain 1 everything, the rest a random prefix. The padding after
      // the prefix holds real source ids, so a kernel that ignored `active` would add them.
      const std::uint32_t active = b == 0 ? 0
                                   : b == 1 ? c.firing
                                            : std::uniform_int_distribution<std::uint32_t>(0, c.firing)(rng);
      f.active.push_back(active);
    }
  }
  return f;
}

// Random weights of assorted magnitudes (exactly representable in 32.32 fixed point or not).
std::vector<float> random_weights(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> w(0.0f, 3.0f);
  std::uniform_int_distribution<int> kind(0, 9);
  std::vector<float> out(count);
  for (float& x : out) {
    const int k = kind(rng);
    x = k == 0 ? 1.0f : k == 1 ? 1e-6f * w(rng) : k == 2 ? -w(rng) : w(rng);
  }
  return out;
}

Outcome run(engram::Backend& backend, const Fixture& f) {
  const GraphCase& c = f.c;
  const std::size_t slots = static_cast<std::size_t>(c.batch) * c.n_source;
  Buffer<std::uint64_t> seeds(backend, f.graph_seed);
  Buffer<double> p(backend, f.p);
  Buffer<EdgeOffset> row_start(backend, std::vector<EdgeOffset>(slots, engram::kRowAbsent));
  Buffer<std::uint32_t> row_degree(backend, std::vector<std::uint32_t>(slots, 0));
  Buffer<NeuronId> targets(backend, 0);
  Buffer<float> weights(backend, 0);
  const engram::graph::FiberGraph g{seeds.data(), p.data(), 3, c.n_target, c.exclude_self};

  Outcome out;
  for (int round = 0; round < 2; ++round) {
    const auto count = static_cast<std::int64_t>(f.req_brain[round].size());
    Buffer<std::uint32_t> req_brain(backend, f.req_brain[round]);
    Buffer<NeuronId> req_source(backend, f.req_source[round]);
    Buffer<EdgeOffset> degree(backend, f.req_brain[round].size());
    Buffer<EdgeOffset> offset(backend, f.req_brain[round].size());
    const engram::graph::RowRequests requests{req_brain.data(), req_source.data(), count};
    engram::launch(backend, count, engram::graph::GnpRowDegree{g, requests, degree.data()});
    const EdgeOffset total = backend.exclusive_scan(degree.data(), offset.data(), count);
    targets.reserve_keep(static_cast<std::size_t>(out.total + total));
    weights.reserve_keep(static_cast<std::size_t>(out.total + total));
    const engram::graph::RowTable table{row_start.data(), row_degree.data(), targets.data(),
                                        weights.data(), c.n_source};
    engram::launch(backend, count, engram::graph::GnpRowFill{g, requests, offset.data(), out.total, table, 1.0f});
    out.total += total;
    const auto d = degree.to_host(), o = offset.to_host();
    out.degree.insert(out.degree.end(), d.begin(), d.end());
    out.offset.insert(out.offset.end(), o.begin(), o.end());
  }
  const auto pool = static_cast<std::size_t>(out.total);
  out.row_start = row_start.to_host();
  out.row_degree = row_degree.to_host();
  out.targets = targets.to_host();
  out.targets.resize(pool);
  out.weights_built = weights.to_host();
  out.weights_built.resize(pool);

  // Random weights, then input accumulation from the firing sets.
  weights.upload(random_weights(pool, f.weight_seed));
  const engram::graph::RowTable table{row_start.data(), row_degree.data(), targets.data(),
                                      weights.data(), c.n_source};
  Buffer<NeuronId> firing(backend, f.firing);
  Buffer<std::uint32_t> active(backend, f.active);
  Buffer<FixedInput> inputs(backend, static_cast<std::size_t>(c.batch) * c.n_target);
  inputs.zero();
  const engram::graph::FiringSet fs{firing.data(), c.firing, c.ragged ? active.data() : nullptr};
  const auto items = static_cast<std::int64_t>(c.batch) * c.firing;
  engram::launch(backend, items, engram::graph::AccumulateInputs{table, fs, inputs.data(), c.n_target});
  out.inputs = inputs.to_host();

  // Hebbian: flag the winners, scale fired -> winner edges, clear the flags.
  Buffer<NeuronId> winners(backend, f.winners);
  Buffer<std::uint8_t> is_winner(backend, static_cast<std::size_t>(c.batch) * c.n_target);
  is_winner.zero();
  Buffer<float> factor(backend, f.factor);
  const auto winner_items = static_cast<std::int64_t>(c.batch) * c.k;
  engram::launch(backend, winner_items,
                 engram::plasticity::MarkWinners{winners.data(), c.k, is_winner.data(), c.n_target, 1});
  out.is_winner_marked = is_winner.to_host();
  engram::launch(backend, items,
                 engram::plasticity::HebbianScale{table, fs, is_winner.data(), factor.data(), c.n_target});
  engram::launch(backend, winner_items,
                 engram::plasticity::MarkWinners{winners.data(), c.k, is_winner.data(), c.n_target, 0});
  out.is_winner_cleared = is_winner.to_host();
  out.weights_after = weights.to_host();
  out.weights_after.resize(pool);
  backend.synchronize();
  return out;
}

// The pool seen through row_start / row_degree as edge lists, with the given weights.
EdgeRows as_rows(const Outcome& out, const std::vector<float>& weights) {
  EdgeRows rows(out.row_start.size());
  for (std::size_t slot = 0; slot < rows.size(); ++slot) {
    if (out.row_start[slot] == engram::kRowAbsent) continue;
    for (std::uint32_t i = 0; i < out.row_degree[slot]; ++i) {
      const auto e = static_cast<std::size_t>(out.row_start[slot]) + i;
      rows[slot].push_back(Edge{out.targets[e], weights[e]});
    }
  }
  return rows;
}

::testing::AssertionResult same_rows(const EdgeRows& got, const EdgeRows& want) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "row count differs";
  for (std::size_t slot = 0; slot < got.size(); ++slot) {
    if (got[slot].size() != want[slot].size()) {
      return ::testing::AssertionFailure() << "slot " << slot << ": degree " << got[slot].size()
                                           << ", want " << want[slot].size();
    }
    for (std::size_t i = 0; i < got[slot].size(); ++i) {
      const Edge& x = got[slot][i];
      const Edge& y = want[slot][i];
      if (x.target != y.target || x.weight != y.weight) {
        return ::testing::AssertionFailure()
               << "slot " << slot << " edge " << i << ": (" << x.target << ", " << x.weight
               << "), want (" << y.target << ", " << y.weight << ")";
      }
    }
  }
  return ::testing::AssertionSuccess();
}

template <class T>
::testing::AssertionResult same_values(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << " != " << want.size();
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!(got[i] == want[i])) {
      return ::testing::AssertionFailure() << "at " << i << ": " << +got[i] << " != " << +want[i];
    }
  }
  return ::testing::AssertionSuccess();
}

void check_against_reference(const Fixture& f, const Outcome& out) {
  const GraphCase& c = f.c;
  // Degrees and the scan.
  std::vector<std::uint32_t> all_brain(f.req_brain[0]);
  all_brain.insert(all_brain.end(), f.req_brain[1].begin(), f.req_brain[1].end());
  std::vector<NeuronId> all_source(f.req_source[0]);
  all_source.insert(all_source.end(), f.req_source[1].begin(), f.req_source[1].end());
  const EdgeRows built = engram::reference::build_rows(f.graph_seed, f.p, 3, c.n_source, c.n_target,
                                                       c.exclude_self, all_brain, all_source, 1.0f);
  std::vector<EdgeOffset> want_degree, want_offset;
  EdgeOffset round_base = 0, running = 0;
  for (std::size_t r = 0; r < all_brain.size(); ++r) {
    if (r == f.req_brain[0].size()) round_base = running;
    const auto& row = built[static_cast<std::size_t>(all_brain[r]) * c.n_source + all_source[r]];
    want_degree.push_back(static_cast<EdgeOffset>(row.size()));
    want_offset.push_back(running - round_base);
    running += static_cast<EdgeOffset>(row.size());
  }
  EXPECT_TRUE(same_values(out.degree, want_degree)) << "gnp_row_degree";
  EXPECT_TRUE(same_values(out.offset, want_offset)) << "exclusive_scan";
  EXPECT_EQ(out.total, running) << "total edges";
  // Each requested row sits at base + offset; the rest stay absent.
  std::vector<EdgeOffset> want_start(out.row_start.size(), engram::kRowAbsent);
  for (std::size_t r = 0; r < all_brain.size(); ++r) {
    const EdgeOffset base = r < f.req_brain[0].size() ? 0 : round_base;
    want_start[static_cast<std::size_t>(all_brain[r]) * c.n_source + all_source[r]] = base + want_offset[r];
  }
  EXPECT_TRUE(same_values(out.row_start, want_start)) << "row_start";
  EXPECT_TRUE(same_rows(as_rows(out, out.weights_built), built)) << "gnp_row_fill";

  // Accumulation with the random weights (edge e of the pool got weight w[e]).
  const std::vector<float> w = random_weights(static_cast<std::size_t>(out.total), f.weight_seed);
  EdgeRows weighted = as_rows(out, w);
  const std::vector<FixedInput> want_inputs =
      engram::reference::accumulate(weighted, c.n_source, f.firing, c.firing, c.batch, c.n_target, f.active);
  EXPECT_TRUE(same_values(out.inputs, want_inputs)) << "accumulate_inputs";
  // The test must exercise something: some input is non-zero unless no firing row has an edge.
  EXPECT_TRUE(std::any_of(want_inputs.begin(), want_inputs.end(), [](FixedInput x) { return x != 0; }));

  // Winner flags, Hebbian scaling, cleared flags.
  std::vector<std::uint8_t> want_flags(static_cast<std::size_t>(c.batch) * c.n_target, 0);
  for (std::uint32_t b = 0; b < c.batch; ++b) {
    for (std::uint32_t i = 0; i < c.k; ++i) {
      want_flags[static_cast<std::size_t>(b) * c.n_target + f.winners[b * c.k + i]] = 1;
    }
  }
  EXPECT_TRUE(same_values(out.is_winner_marked, want_flags)) << "mark_winners(1)";
  EXPECT_TRUE(same_values(out.is_winner_cleared, std::vector<std::uint8_t>(want_flags.size(), 0)))
      << "mark_winners(0)";
  engram::reference::hebbian(weighted, c.n_source, f.firing, c.firing, f.winners, c.k, f.factor, f.active);
  EXPECT_TRUE(same_rows(as_rows(out, out.weights_after), weighted)) << "hebbian_scale";
  std::size_t scaled = 0;
  for (std::size_t e = 0; e < w.size(); ++e) scaled += out.weights_after[e] != w[e];
  if (c.n_target > 1) {
    EXPECT_GT(scaled, 0u) << "no weight was scaled: the case tests nothing";
  }
}

class GraphParity : public ::testing::TestWithParam<std::string> {};

TEST_P(GraphParity, BuildAccumulateAndLearnMatchReference) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  std::mt19937_64 rng(0x6a09e667f3bcc908ull);
  for (const GraphCase& c : cases()) {
    SCOPED_TRACE(c.name);
    const Fixture f = make_fixture(c, rng);
    if (backend.kind() == engram::BackendKind::cpu) {
      Outcome first;
      for (const int threads : engram::testing::kThreadCounts) {
        engram::testing::OmpThreads scoped(threads);
        const Outcome out = run(backend, f);
        if (threads == engram::testing::kThreadCounts[0]) {
          check_against_reference(f, out);
          first = out;
        } else {
          EXPECT_TRUE(out == first) << threads << " threads differ from "
                                    << engram::testing::kThreadCounts[0];
        }
      }
    } else {
      check_against_reference(f, run(backend, f));
    }
  }
}

// Duplicate firing sources add twice (the integer atomics make that exact).
TEST_P(GraphParity, DuplicateFiringSourcesAddTwice) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  const NeuronId n = 64;
  Buffer<EdgeOffset> row_start(backend, std::vector<EdgeOffset>{0, 3, engram::kRowAbsent});
  Buffer<std::uint32_t> row_degree(backend, std::vector<std::uint32_t>{3, 2, 0});
  Buffer<NeuronId> targets(backend, std::vector<NeuronId>{1, 5, 63, 5, 6});
  Buffer<float> weights(backend, std::vector<float>{0.5f, 1.25f, 3.0f, 2.0f, 1e-3f});
  Buffer<NeuronId> firing(backend, std::vector<NeuronId>{0, 1, 0, 2});
  Buffer<FixedInput> inputs(backend, n);
  inputs.zero();
  const engram::graph::RowTable table{row_start.data(), row_degree.data(), targets.data(),
                                      weights.data(), 3};
  engram::launch(backend, 4, engram::graph::AccumulateInputs{table, {firing.data(), 4}, inputs.data(), n});
  std::vector<FixedInput> want(n, 0);
  want[1] = 2 * engram::to_fixed(0.5f);
  want[5] = 2 * engram::to_fixed(1.25f) + engram::to_fixed(2.0f);
  want[6] = engram::to_fixed(1e-3f);
  want[63] = 2 * engram::to_fixed(3.0f);
  EXPECT_EQ(inputs.to_host(), want);
  EXPECT_EQ(want[5], FixedInput{9} << 31);  // 2.5 + 2.0 = 4.5 exactly
}

TEST_P(GraphParity, ExclusiveScanMatchesStd) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<EdgeOffset> degree(0, 1000);
  for (const std::int64_t n : {0, 1, 2, 1000, 100003}) {
    std::vector<EdgeOffset> in(static_cast<std::size_t>(n));
    for (auto& x : in) x = degree(rng);
    if (n == 2) in = {std::int64_t{1} << 40, 3};  // totals beyond 32 bits
    std::vector<EdgeOffset> want(in.size());
    std::exclusive_scan(in.begin(), in.end(), want.begin(), EdgeOffset{0});
    const EdgeOffset want_total = std::accumulate(in.begin(), in.end(), EdgeOffset{0});
    Buffer<EdgeOffset> d_in(backend, in), d_out(backend, in.size());
    EXPECT_EQ(backend.exclusive_scan(d_in.data(), d_out.data(), n), want_total) << "n " << n;
    EXPECT_EQ(d_out.to_host(), want) << "n " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, GraphParity, ::testing::Values("cpu", "cuda"),
                         engram::testing::backend_name);

// The CPU fast paths convert edge weights with to_fixed_exact_float: the same value as to_fixed
// for every float, checked on one bit pattern in 61 of all 2^32 (every exponent, both signs,
// subnormals, infinities and NaNs included) and on the boundaries of its fast range.
TEST(FixedPoint, ExactFloatConversionEqualsToFixedForEveryFloat) {
  const auto check = [](std::uint32_t bits) {
    float w;
    std::memcpy(&w, &bits, sizeof w);
    if (w != w) return true;  // NaN: no weight is NaN, and llrint(NaN) is unspecified
    return engram::to_fixed_exact_float(w) == engram::to_fixed(w);
  };
  for (std::uint64_t bits = 0; bits <= 0xFFFFFFFFull; bits += 61) {
    ASSERT_TRUE(check(static_cast<std::uint32_t>(bits))) << "bit pattern " << bits;
  }
  for (const float edge : {0x1p-9f, 0x1p30f, 1.0f, 65536.0f}) {
    std::uint32_t bits;
    std::memcpy(&bits, &edge, sizeof bits);
    for (std::uint32_t d = 0; d < 8; ++d) {
      ASSERT_TRUE(check(bits - d) && check(bits + d) && check((bits - d) | 0x80000000u));
    }
  }
}

}  // namespace
