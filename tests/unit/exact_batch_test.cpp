// The Assembly Calculus ExactBatch on small brains: explicit and implicit graphs give identical
// trajectories; a brain's trajectory does not depend on its batch, its slot or the thread count;
// Hebbian weights are exactly (1 + beta)^m; support and overlap follow the winners; set_beta is
// per brain; invalid specs throw engram::Error naming the field.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/models/assembly/exact_batch.hpp"
#include "support/backends.hpp"
#include "support/threads.hpp"

namespace {

using engram::FixedInput;
using engram::NeuronId;
using engram::assembly::AreaSpec;
using engram::assembly::ExactBatch;
using engram::assembly::BrainId;
using engram::assembly::BrainSpec;
using engram::assembly::FiberSpec;
using engram::assembly::GraphMode;
using engram::assembly::StimulusSpec;

// Stimulus s -> A and recurrence A -> A.
BrainSpec one_area(NeuronId n, std::uint32_t k, double p, double beta, bool self_loops = true,
                   GraphMode mode = GraphMode::implicit_graph) {
  BrainSpec spec;
  spec.areas = {AreaSpec{"A", n, k, self_loops}};
  spec.stimuli = {StimulusSpec{"s", k}};
  spec.fibers = {FiberSpec{"s", "A", beta, {}}, FiberSpec{"A", "A", beta, {}}};
  spec.p = p;
  spec.mode = mode;
  return spec;
}

// s -> A, A -> A, A -> B, B -> B, B -> A; B's recurrence has its own p and beta.
BrainSpec two_areas(NeuronId n, std::uint32_t k, double p, double beta,
                    GraphMode mode = GraphMode::implicit_graph) {
  BrainSpec spec;
  spec.areas = {AreaSpec{"A", n, k, true}, AreaSpec{"B", n, k, false}};
  spec.stimuli = {StimulusSpec{"s", k}};
  spec.fibers = {FiberSpec{"s", "A", beta, {}}, FiberSpec{"A", "A", beta, {}},
                 FiberSpec{"A", "B", beta, {}}, FiberSpec{"B", "B", 2.0 * beta, 1.5 * p},
                 FiberSpec{"B", "A", beta, {}}};
  spec.p = p;
  spec.mode = mode;
  return spec;
}

// What one brain's area showed after one step.
struct Observation {
  std::vector<NeuronId> winners;
  std::uint64_t support;
  std::uint32_t overlap;
  bool updated;
  bool operator==(const Observation&) const = default;
};
// trace[step][brain][area]
using Trace = std::vector<std::vector<std::vector<Observation>>>;

Trace run(ExactBatch& batch, int steps) {
  Trace trace;
  for (int t = 0; t < steps; ++t) {
    batch.project();
    auto& step = trace.emplace_back();
    for (std::size_t b = 0; b < batch.size(); ++b) {
      auto& brain = step.emplace_back();
      for (const AreaSpec& a : batch.spec().areas) {
        brain.push_back({batch.winners(b, a.name), batch.support(b, a.name), batch.overlap(b, a.name),
                         batch.updated(a.name)});
      }
    }
  }
  return trace;
}

// The rows (targets and weights) of every source neuron of every fiber of one brain, for the
// sources that have ever fired (the rows both graph modes must agree on).
using Rows = std::map<std::pair<std::size_t, NeuronId>, ExactBatch::Row>;
Rows fired_rows(const ExactBatch& batch, std::size_t brain, const Trace& trace) {
  const BrainSpec& spec = batch.spec();
  Rows rows;
  for (std::size_t f = 0; f < spec.fibers.size(); ++f) {
    std::set<NeuronId> sources;
    const int stimulus = spec.stimulus_index(spec.fibers[f].from);
    if (stimulus >= 0) {
      for (NeuronId s = 0; s < spec.stimuli[static_cast<std::size_t>(stimulus)].k; ++s) sources.insert(s);
    } else {
      const auto area = static_cast<std::size_t>(spec.area_index(spec.fibers[f].from));
      for (const auto& step : trace) {
        for (NeuronId s : step[brain][area].winners) sources.insert(s);
      }
    }
    for (NeuronId s : sources) rows[{f, s}] = batch.row(brain, f, s);
  }
  return rows;
}

bool rows_equal(const Rows& x, const Rows& y) {
  if (x.size() != y.size()) return false;
  for (const auto& [key, row] : x) {
    const auto it = y.find(key);
    if (it == y.end() || it->second.targets != row.targets || it->second.weights != row.weights) {
      ADD_FAILURE() << "row of fiber " << key.first << " source " << key.second << " differs";
      return false;
    }
  }
  return true;
}

std::vector<BrainId> brains(std::uint64_t seed, std::uint32_t count) {
  std::vector<BrainId> ids;
  for (std::uint32_t i = 0; i < count; ++i) ids.push_back({seed, i});
  return ids;
}

class BatchTest : public ::testing::TestWithParam<std::string> {};

// ---- explicit vs implicit -----------------------------------------------------------------------

void expect_modes_agree(engram::Backend& backend, BrainSpec spec, std::uint32_t brain_count, int steps) {
  spec.mode = GraphMode::explicit_graph;
  ExactBatch explicit_batch(backend, spec, brains(31337, brain_count));
  spec.mode = GraphMode::implicit_graph;
  ExactBatch implicit_batch(backend, spec, brains(31337, brain_count));
  const Trace te = run(explicit_batch, steps);
  const Trace ti = run(implicit_batch, steps);
  for (int t = 0; t < steps; ++t) {
    ASSERT_EQ(te[t], ti[t]) << "winners differ at step " << t + 1;
  }
  for (std::uint32_t b = 0; b < brain_count; ++b) {
    EXPECT_TRUE(rows_equal(fired_rows(explicit_batch, b, te), fired_rows(implicit_batch, b, ti)))
        << "brain " << b;
  }
  // The assembly moved: not every step picked the same winners (else the test proves little).
  const auto& first = te.front()[0][0].winners;
  EXPECT_TRUE(std::any_of(te.begin(), te.end(), [&](const auto& s) { return s[0][0].winners != first; }));
  // Explicit mode has rows for neurons that never fired; implicit mode does not.
  const std::size_t recurrent = 1;  // fiber A -> A in both specs
  std::set<NeuronId> fired;
  for (const auto& s : ti) fired.insert(s[0][0].winners.begin(), s[0][0].winners.end());
  NeuronId never = 0;
  while (fired.count(never) != 0) ++never;
  EXPECT_TRUE(implicit_batch.row(0, recurrent, never).targets.empty());
  EXPECT_FALSE(explicit_batch.row(0, recurrent, never).targets.empty());
  EXPECT_EQ(explicit_batch.support(0, "A"), implicit_batch.support(0, "A"));
  EXPECT_EQ(implicit_batch.support(0, "A"), fired.size());
}

TEST_P(BatchTest, ExplicitAndImplicitGraphsGiveIdenticalWinners) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  expect_modes_agree(backend, one_area(10000, 100, 0.01, 0.05), 2, 6);
}

TEST_P(BatchTest, ExplicitAndImplicitAgreeWithoutSelfLoops) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  expect_modes_agree(backend, one_area(10000, 100, 0.01, 0.1, /*self_loops=*/false), 1, 6);
}

TEST_P(BatchTest, ExplicitAndImplicitAgreeWithTwoAreas) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  expect_modes_agree(backend, two_areas(10000, 100, 0.01, 0.05), 1, 6);
}

// ---- batch independence -------------------------------------------------------------------------

// 64 brains from three run seeds, including two copies of one BrainId.
std::vector<BrainId> mixed_brains() {
  std::vector<BrainId> ids;
  for (std::uint32_t i = 0; i < 64; ++i) ids.push_back({1000 + i % 3, i});
  ids[63] = ids[5];
  return ids;
}

TEST_P(BatchTest, BrainInBatchEqualsBrainAlone) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  const BrainSpec spec = two_areas(2000, 40, 0.05, 0.1);
  const std::vector<BrainId> ids = mixed_brains();
  constexpr int kSteps = 5;
  ExactBatch batch(backend, spec, ids);
  const Trace together = run(batch, kSteps);
  // Brains alone: the first slots, the duplicated pair, and slots spread over the batch (every
  // run seed appears). All 64 would cost 64 small batches for little extra coverage.
  for (const std::size_t i : {0, 1, 2, 3, 4, 5, 17, 31, 32, 46, 62, 63}) {
    ExactBatch alone(backend, spec, {ids[i]});
    const Trace single = run(alone, kSteps);
    for (int t = 0; t < kSteps; ++t) {
      ASSERT_EQ(together[t][i], single[t][0]) << "brain " << i << " step " << t + 1;
    }
    EXPECT_TRUE(rows_equal(fired_rows(batch, i, together), fired_rows(alone, 0, single))) << "brain " << i;
  }
  // Distinct BrainIds diverge (brains 0 and 3 share a run seed, 0 and 1 do not); copies agree.
  EXPECT_NE(together.back()[0][0].winners, together.back()[1][0].winners);
  EXPECT_NE(together.back()[0][0].winners, together.back()[3][0].winners);
  EXPECT_EQ(together.back()[5], together.back()[63]);
}

TEST(BatchThreads, IdenticalOnOneAndTwoThreads) {
  auto backend = engram::make_backend("cpu");
  const BrainSpec spec = two_areas(2000, 40, 0.05, 0.1);
  std::vector<Trace> traces;
  std::vector<Rows> rows;
  for (const int threads : engram::testing::kThreadCounts) {
    engram::testing::OmpThreads scoped(threads);
    ExactBatch batch(*backend, spec, mixed_brains());
    traces.push_back(run(batch, 5));
    rows.push_back(fired_rows(batch, 7, traces.back()));
  }
  for (std::size_t i = 1; i < traces.size(); ++i) {
    EXPECT_TRUE(traces[i] == traces[0]) << engram::testing::kThreadCounts[i] << " threads";
    EXPECT_TRUE(rows_equal(rows[i], rows[0])) << engram::testing::kThreadCounts[i] << " threads";
  }
}

// The CPU fast paths (a thread owns each brain, one-pass k-cap, rows generated once) against the
// portable kernels the CUDA backend runs, on the same brains: the same bits, through noise,
// ragged cues (fire_random_subset) and both graph modes, on 1 and 2 threads.
TEST(BatchCpuFastPath, MatchesPortableKernelsBitForBit) {
  auto backend = engram::make_backend("cpu");
  for (const GraphMode mode : {GraphMode::implicit_graph, GraphMode::explicit_graph}) {
    BrainSpec spec = two_areas(1500, 30, 0.05, 0.1, mode);
    spec.areas[1].noise = 0.7;
    for (const int threads : engram::testing::kThreadCounts) {
      engram::testing::OmpThreads scoped(threads);
      SCOPED_TRACE(::testing::Message() << to_string(mode) << ", " << threads << " threads");
      ExactBatch fast(*backend, spec, brains(4242, 6));
      ExactBatch portable(*backend, spec, brains(4242, 6));
      portable.set_portable_kernels(true);
      Trace fast_trace = run(fast, 3), portable_trace = run(portable, 3);
      fast.fire_random_subset("A", 0.5);
      portable.fire_random_subset("A", 0.5);
      const Trace fast_more = run(fast, 3), portable_more = run(portable, 3);
      fast_trace.insert(fast_trace.end(), fast_more.begin(), fast_more.end());
      portable_trace.insert(portable_trace.end(), portable_more.begin(), portable_more.end());
      ASSERT_TRUE(fast_trace == portable_trace);
      for (const std::size_t b : {0, 5}) {
        EXPECT_TRUE(rows_equal(fired_rows(fast, b, fast_trace), fired_rows(portable, b, portable_trace))) << "brain " << b;
      }
    }
  }
}

// The host path keeps each fiber's share of the inputs from step to step where few of its rows
// change (a stimulus always; an assembly once formed). Every way a weight or a firing set can
// change between steps must reach those kept sums: the inputs themselves (not only the winners)
// equal the portable kernels' fresh sums, step by step, through converged assemblies, an inhibited
// fiber and area, plasticity off and on, a fixed area, rows rewritten through set_row_weights
// and through fiber_memory, and forced firing.
TEST(BatchCpuFastPath, KeptInputsFollowEveryChangeBitForBit) {
  auto backend = engram::make_backend("cpu");
  for (const GraphMode mode : {GraphMode::implicit_graph, GraphMode::explicit_graph}) {
    SCOPED_TRACE(to_string(mode));
    const BrainSpec spec = two_areas(1200, 30, 0.05, 0.1, mode);
    ExactBatch fast(*backend, spec, brains(99, 3));
    ExactBatch portable(*backend, spec, brains(99, 3));
    portable.set_portable_kernels(true);
    bool converged = false;
    int step = 0;
    Trace trace;  // the fast batch's winners, for fired_rows
    const auto steps = [&](int count) {
      for (int i = 0; i < count; ++i, ++step) {
        fast.project();
        portable.project();
        auto& now = trace.emplace_back(fast.size());
        for (const AreaSpec& a : spec.areas) {
          for (std::size_t b = 0; b < fast.size(); ++b) now[b].push_back({fast.winners(b, a.name), 0, 0, false});
          ASSERT_EQ(fast.updated(a.name), portable.updated(a.name)) << a.name << " step " << step;
          if (!fast.updated(a.name)) continue;
          const FixedInput* x = fast.input_memory(a.name);
          const FixedInput* y = portable.input_memory(a.name);
          ASSERT_TRUE(std::equal(x, x + fast.size() * a.n, y)) << a.name << " inputs, step " << step;
          for (std::size_t b = 0; b < fast.size(); ++b) {
            ASSERT_EQ(fast.winners(b, a.name), portable.winners(b, a.name)) << a.name << " step " << step;
            // Two thirds of the winners repeat: few enough rows change for the area's own fibers to keep.
            converged |= 3 * fast.overlap(b, a.name) >= 2 * a.k;
          }
        }
      }
    };
    steps(12);
    EXPECT_TRUE(converged) << "no assembly repeated 2/3 of its winners: the kept path for area fibers went untested";
    for (ExactBatch* batch : {&fast, &portable}) batch->inhibit_fiber("A", "A");
    steps(2);
    for (ExactBatch* batch : {&fast, &portable}) {
      batch->disinhibit_fiber("A", "A");
      batch->set_plasticity(false);
    }
    steps(2);
    for (ExactBatch* batch : {&fast, &portable}) {
      batch->set_plasticity(true);
      batch->fix("A");
    }
    steps(2);
    std::vector<float> weights(1200);
    for (std::size_t t = 0; t < weights.size(); ++t) weights[t] = 0.5f + static_cast<float>(t % 7) * 0.25f;
    for (ExactBatch* batch : {&fast, &portable}) batch->unfix("A");
    steps(2);
    for (ExactBatch* batch : {&fast, &portable}) batch->set_row_weights(1, 0, 3, weights);
    steps(2);
    // Views taken now are written two steps later (explicit mode: the view stays valid; implicit
    // pools move as rows are added, so a fresh view is taken).
    std::vector<ExactBatch::FiberMemory> views;
    for (ExactBatch* batch : {&fast, &portable}) views.push_back(batch->fiber_memory(0));
    steps(2);
    for (std::size_t i = 0; i < views.size(); ++i) {
      ExactBatch& batch = i == 0 ? fast : portable;
      const ExactBatch::FiberMemory memory = mode == GraphMode::explicit_graph ? views[i] : batch.fiber_memory(0);
      for (std::size_t e = 0; e < memory.edges; e += 5) memory.weights[e] *= 1.5f;
    }
    steps(2);
    for (ExactBatch* batch : {&fast, &portable}) {
      batch->inhibit("B");
      batch->fire_random_subset("A", 0.5);
    }
    steps(2);
    for (ExactBatch* batch : {&fast, &portable}) batch->disinhibit("B");
    steps(4);
    for (const std::size_t b : {0, 2}) {
      EXPECT_TRUE(rows_equal(fired_rows(fast, b, trace), fired_rows(portable, b, trace))) << "brain " << b;
    }
  }
}

// ---- Hebbian plasticity -------------------------------------------------------------------------

TEST_P(BatchTest, FirstStepScalesStimulusEdgesToWinnersByOnePlusBeta) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  const double beta = 0.07;
  const BrainSpec spec = one_area(3000, 50, 0.05, beta);
  ExactBatch batch(backend, spec, brains(5, 3));
  batch.project();
  const float scaled = static_cast<float>(1.0 + beta);
  for (std::size_t b = 0; b < batch.size(); ++b) {
    const std::vector<NeuronId> winners = batch.winners(b, "A");
    ASSERT_EQ(winners.size(), 50u);
    std::size_t up = 0, same = 0;
    for (NeuronId s = 0; s < spec.stimuli[0].k; ++s) {
      const ExactBatch::Row row = batch.row(b, 0, s);
      ASSERT_FALSE(row.targets.empty());
      for (std::size_t e = 0; e < row.targets.size(); ++e) {
        const bool won = std::binary_search(winners.begin(), winners.end(), row.targets[e]);
        ASSERT_EQ(row.weights[e], won ? scaled : 1.0f) << "brain " << b << " source " << s
                                                       << " target " << row.targets[e];
        ++(won ? up : same);
      }
    }
    // Winners are chosen for their stimulus input, so many stimulus edges end on winners.
    EXPECT_GT(up, 50u);
    EXPECT_GT(same, 0u);
  }
  // The recurrent fiber did not fire yet: winners' rows exist (implicit mode) but are all 1.
  for (NeuronId w : batch.winners(0, "A")) {
    const ExactBatch::Row row = batch.row(0, 1, w);
    for (float x : row.weights) ASSERT_EQ(x, 1.0f);
  }
}

// Over several steps every weight is the float product of one factor per step in which its
// source fired (step t - 1 for an area, every step for the stimulus) and its target won (step t).
TEST_P(BatchTest, WeightsAreProductsOfFactorsOverFiredToWinnerSteps) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  for (const GraphMode mode : {GraphMode::implicit_graph, GraphMode::explicit_graph}) {
    SCOPED_TRACE(engram::assembly::to_string(mode));
    const double beta = 0.25;
    BrainSpec spec = one_area(1500, 30, 0.05, beta, true, mode);
    spec.fibers[1].beta = 0.5;  // recurrence learns at its own rate
    ExactBatch batch(backend, spec, brains(77, 2));
    constexpr int kSteps = 6;
    const Trace trace = run(batch, kSteps);
    const float f_stim = static_cast<float>(1.0 + 0.25), f_rec = static_cast<float>(1.0 + 0.5);
    for (std::size_t b = 0; b < batch.size(); ++b) {
      const Rows rows = fired_rows(batch, b, trace);
      std::size_t checked_above_one = 0;
      for (const auto& [key, row] : rows) {
        const auto [fiber, source] = key;
        for (std::size_t e = 0; e < row.targets.size(); ++e) {
          float want = 1.0f;
          for (int t = 0; t < kSteps; ++t) {
            const auto& won = trace[t][b][0].winners;
            const bool target_won = std::binary_search(won.begin(), won.end(), row.targets[e]);
            if (fiber == 0) {
              if (target_won) want *= f_stim;
            } else if (t > 0) {
              const auto& fired = trace[t - 1][b][0].winners;
              if (target_won && std::binary_search(fired.begin(), fired.end(), source)) want *= f_rec;
            }
          }
          ASSERT_EQ(row.weights[e], want) << "brain " << b << " fiber " << fiber << " source "
                                          << source << " target " << row.targets[e];
          checked_above_one += want > f_rec;
        }
      }
      EXPECT_GT(checked_above_one, 0u) << "no edge learned twice: the check is too weak";
    }
  }
}

TEST_P(BatchTest, ZeroBetaLeavesWeightsAtOne) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  ExactBatch batch(backend, one_area(1000, 20, 0.05, 0.0), brains(3, 2));
  const Trace trace = run(batch, 4);
  for (std::size_t b = 0; b < 2; ++b) {
    for (const auto& [key, row] : fired_rows(batch, b, trace)) {
      for (float w : row.weights) ASSERT_EQ(w, 1.0f);
    }
  }
}

TEST_P(BatchTest, SetBetaChangesOnlyThatBrain) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  const BrainSpec spec = one_area(2000, 40, 0.05, 0.05);
  ExactBatch plain(backend, spec, brains(9, 3));
  ExactBatch changed(backend, spec, brains(9, 3));
  changed.set_beta(1, 0, 0.5);
  changed.set_beta(1, 1, 0.5);
  constexpr int kSteps = 5;
  const Trace tp = run(plain, kSteps);
  const Trace tc = run(changed, kSteps);
  for (const std::size_t b : {std::size_t{0}, std::size_t{2}}) {
    for (int t = 0; t < kSteps; ++t) EXPECT_EQ(tp[t][b], tc[t][b]) << "brain " << b << " step " << t + 1;
    EXPECT_TRUE(rows_equal(fired_rows(plain, b, tp), fired_rows(changed, b, tc))) << "brain " << b;
  }
  // Brain 1's stimulus edges carry 1.5 per step their target won, not 1.05.
  const ExactBatch::Row row = changed.row(1, 0, 0);
  std::size_t learned = 0;
  for (std::size_t e = 0; e < row.targets.size(); ++e) {
    float want = 1.0f;
    for (int t = 0; t < kSteps; ++t) {
      const auto& won = tc[t][1][0].winners;
      if (std::binary_search(won.begin(), won.end(), row.targets[e])) want *= 1.5f;
    }
    ASSERT_EQ(row.weights[e], want) << "target " << row.targets[e];
    learned += want != 1.0f;
  }
  EXPECT_GT(learned, 0u);
  EXPECT_NE(plain.row(1, 0, 0).weights, row.weights);
  // Bad rates are refused, naming the field.
  for (const double bad : {-0.1, std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity()}) {
    try {
      changed.set_beta(0, 0, bad);
      ADD_FAILURE() << "set_beta accepted " << bad;
    } catch (const engram::Error& e) {
      EXPECT_EQ(e.code(), engram::ErrorCode::bad_input);
      EXPECT_EQ(std::string(e.what()).rfind("beta = ", 0), 0u) << e.what();
    }
  }
}

// ---- support, overlap, winners ------------------------------------------------------------------

TEST_P(BatchTest, SupportAndOverlapFollowTheWinners) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  const BrainSpec spec = two_areas(3000, 60, 0.03, 0.1);
  ExactBatch batch(backend, spec, brains(21, 4));
  constexpr int kSteps = 10;
  const Trace trace = run(batch, kSteps);
  for (std::size_t b = 0; b < batch.size(); ++b) {
    for (std::size_t a = 0; a < spec.areas.size(); ++a) {
      const std::uint32_t k = spec.areas[a].k;
      std::set<NeuronId> ever;
      std::uint64_t last_support = 0;
      const std::vector<NeuronId>* previous = nullptr;
      for (int t = 0; t < kSteps; ++t) {
        const Observation& o = trace[t][b][a];
        if (o.winners.empty()) {  // B does not fire on step 1: A has not fired yet
          EXPECT_EQ(a, 1u);
          EXPECT_EQ(t, 0);
          EXPECT_EQ(o.support, 0u);
          continue;
        }
        ASSERT_EQ(o.winners.size(), k);
        for (std::size_t i = 0; i < k; ++i) {
          ASSERT_LT(o.winners[i], spec.areas[a].n);
          if (i > 0) {
            ASSERT_LT(o.winners[i - 1], o.winners[i]);
          }
        }
        ever.insert(o.winners.begin(), o.winners.end());
        EXPECT_EQ(o.support, ever.size()) << "step " << t + 1;
        EXPECT_GE(o.support, last_support);
        EXPECT_LE(o.overlap, k);
        std::uint32_t shared = 0;
        if (previous != nullptr) {
          for (NeuronId w : o.winners) shared += std::binary_search(previous->begin(), previous->end(), w);
        }
        EXPECT_EQ(o.overlap, shared) << "step " << t + 1;
        last_support = o.support;
        previous = &o.winners;
      }
      EXPECT_GT(last_support, k) << "the winners never changed";
    }
  }
}

TEST_P(BatchTest, DenseGraphPicksLowestIndicesOnTies) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  // p = 1: every neuron gets the same input, so the cap takes neurons 0..k-1; learning then
  // reinforces them and they stay.
  BrainSpec spec = one_area(50, 5, 1.0, 0.2);
  spec.stimuli[0].k = 3;
  ExactBatch batch(backend, spec, brains(1, 2));
  const std::vector<NeuronId> first = {0, 1, 2, 3, 4};
  for (int t = 0; t < 4; ++t) {
    batch.project();
    for (std::size_t b = 0; b < 2; ++b) {
      EXPECT_EQ(batch.winners(b, "A"), first) << "step " << t + 1;
      EXPECT_EQ(batch.support(b, "A"), 5u);
      EXPECT_EQ(batch.overlap(b, "A"), t == 0 ? 0u : 5u);
    }
  }
  // Stimulus edges to the winners learned four times: 1.2^4 in float.
  float want = 1.0f;
  for (int t = 0; t < 4; ++t) want *= static_cast<float>(1.2);
  const ExactBatch::Row row = batch.row(0, 0, 2);
  ASSERT_EQ(row.targets.size(), 50u);
  EXPECT_EQ(row.weights[4], want);
  EXPECT_EQ(row.weights[5], 1.0f);
}

TEST_P(BatchTest, AreasWithoutFiringSourcesAreNotUpdated) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  BrainSpec spec;
  spec.areas = {AreaSpec{"A", 500, 10, true}, AreaSpec{"B", 500, 10, true}, AreaSpec{"C", 500, 10, true}};
  spec.stimuli = {StimulusSpec{"s", 10}};
  spec.fibers = {FiberSpec{"s", "A", 0.1, {}}, FiberSpec{"A", "B", 0.1, {}}};
  spec.p = 0.1;
  ExactBatch batch(backend, spec, brains(2, 1));
  EXPECT_TRUE(batch.winners(0, "A").empty());
  batch.project();
  EXPECT_EQ(batch.steps_taken(), 1);
  EXPECT_TRUE(batch.updated("A"));
  EXPECT_FALSE(batch.updated("B"));  // A had not fired before this step
  EXPECT_TRUE(batch.winners(0, "B").empty());
  EXPECT_EQ(batch.support(0, "B"), 0u);
  const auto a1 = batch.winners(0, "A");
  batch.project();
  EXPECT_TRUE(batch.updated("A"));
  EXPECT_TRUE(batch.updated("B"));
  EXPECT_FALSE(batch.updated("C"));  // no fiber reaches C
  EXPECT_EQ(batch.winners(0, "B").size(), 10u);
  EXPECT_TRUE(batch.winners(0, "C").empty());
  EXPECT_EQ(batch.steps_taken(), 2);
  // A's rows for its step-1 winners were materialised for the A -> B fiber.
  EXPECT_FALSE(batch.row(0, 1, a1[0]).targets.empty());
  try {
    (void)batch.winners(0, "nope");
    ADD_FAILURE() << "unknown area accepted";
  } catch (const engram::Error& e) {
    EXPECT_EQ(e.code(), engram::ErrorCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, BatchTest, ::testing::Values("cpu", "cuda"),
                         engram::testing::backend_name);

// ---- invalid specs ------------------------------------------------------------------------------

struct BadSpec {
  const char* what;
  std::function<void(BrainSpec&)> mutate;
  std::string message_prefix;  // "field = value"
};

BrainSpec valid_spec() {
  BrainSpec spec;
  spec.areas = {AreaSpec{"A", 1000, 30, true}, AreaSpec{"B", 1000, 30, true}};
  spec.stimuli = {StimulusSpec{"s", 30}};
  spec.fibers = {FiberSpec{"s", "A", 0.05, {}}, FiberSpec{"A", "B", 0.05, 0.02}};
  spec.p = 0.01;
  return spec;
}

TEST(BatchSpec, InvalidSpecsThrowBadInputNamingTheField) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<BadSpec> cases = {
      {"no areas", [](BrainSpec& s) { s.areas.clear(); s.fibers.clear(); }, "areas = []"},
      {"k > n", [](BrainSpec& s) { s.areas[0].k = 5000; }, "areas[0].k = 5000"},
      {"k = n + 1", [](BrainSpec& s) { s.areas[1].k = 1001; }, "areas[1].k = 1001"},
      {"k = 0", [](BrainSpec& s) { s.areas[0].k = 0; }, "areas[0].k = 0"},
      {"n = 0", [](BrainSpec& s) { s.areas[1].n = 0; }, "areas[1].n = 0"},
      {"empty name", [](BrainSpec& s) { s.areas[1].name = std::string(""); }, "areas[1].name"},
      {"duplicate area", [](BrainSpec& s) { s.areas[1].name = std::string("A"); }, "areas[1].name = A"},
      {"stimulus k = 0", [](BrainSpec& s) { s.stimuli[0].k = 0; }, "stimuli[0].k = 0"},
      {"stimulus named as area", [](BrainSpec& s) { s.stimuli[0].name = std::string("B"); }, "stimuli[0].name = B"},
      {"p = 0", [](BrainSpec& s) { s.p = 0.0; }, "p = 0"},
      {"p = 1.5", [](BrainSpec& s) { s.p = 1.5; }, "p = 1.5"},
      {"p < 0", [](BrainSpec& s) { s.p = -0.25; }, "p = -0.25"},
      {"p = nan", [nan](BrainSpec& s) { s.p = nan; }, "p = "},
      {"fiber p = 0", [](BrainSpec& s) { s.fibers[1].p = 0.0; }, "fibers[1].p = 0"},
      {"fiber p > 1", [](BrainSpec& s) { s.fibers[0].p = 2.0; }, "fibers[0].p = 2"},
      {"beta < 0", [](BrainSpec& s) { s.fibers[0].beta = -0.5; }, "fibers[0].beta = -0.5"},
      {"beta = inf", [inf](BrainSpec& s) { s.fibers[1].beta = inf; }, "fibers[1].beta = "},
      {"beta = nan", [nan](BrainSpec& s) { s.fibers[1].beta = nan; }, "fibers[1].beta = "},
      {"unknown from", [](BrainSpec& s) { s.fibers[0].from = std::string("Z"); }, "fibers[0].from = Z"},
      {"unknown to", [](BrainSpec& s) { s.fibers[1].to = std::string("Q"); }, "fibers[1].to = Q"},
      {"fiber into stimulus", [](BrainSpec& s) { s.fibers[1].to = std::string("s"); }, "fibers[1].to = s"},
      {"duplicate fiber", [](BrainSpec& s) { s.fibers.push_back(s.fibers[0]); }, "fibers[2].to = A"},
  };
  auto backend = engram::make_backend("cpu");
  for (const BadSpec& c : cases) {
    SCOPED_TRACE(c.what);
    BrainSpec spec = valid_spec();
    c.mutate(spec);
    for (int via_batch = 0; via_batch < 2; ++via_batch) {
      try {
        if (via_batch) {
          ExactBatch batch(*backend, spec, {{1, 0}});
        } else {
          spec.validate();
        }
        ADD_FAILURE() << "accepted (" << (via_batch ? "ExactBatch" : "validate") << ")";
      } catch (const engram::Error& e) {
        EXPECT_EQ(e.code(), engram::ErrorCode::bad_input);
        EXPECT_EQ(std::string(e.what()).rfind(c.message_prefix, 0), 0u)
            << "message: " << e.what() << "\nwant prefix: " << c.message_prefix;
      }
    }
  }
  // The message also says what is required.
  BrainSpec spec = valid_spec();
  spec.areas[0].k = 5000;
  try {
    spec.validate();
    ADD_FAILURE() << "k > n accepted";
  } catch (const engram::Error& e) {
    EXPECT_EQ(std::string(e.what()), "areas[0].k = 5000: must be at most n = 1000");
  }
}

TEST(BatchSpec, BoundaryValuesAreAccepted) {
  auto backend = engram::make_backend("cpu");
  BrainSpec spec = valid_spec();
  spec.p = 1.0;
  spec.areas[0].k = spec.areas[0].n;  // k = n
  spec.fibers[1].beta = 0.0;
  EXPECT_NO_THROW(spec.validate());
  EXPECT_NO_THROW({ ExactBatch batch(*backend, spec, {{1, 0}}); });
  spec.areas = {AreaSpec{"A", 1, 1, true}};  // n = k = 1, no fibers: valid, never updates
  spec.fibers.clear();
  ExactBatch lonely(*backend, spec, {{1, 0}});
  lonely.project();
  EXPECT_FALSE(lonely.updated("A"));
  EXPECT_TRUE(lonely.winners(0, "A").empty());
}

TEST(BatchSpec, EmptyBrainListIsRejected) {
  auto backend = engram::make_backend("cpu");
  try {
    ExactBatch batch(*backend, valid_spec(), {});
    ADD_FAILURE() << "empty batch accepted";
  } catch (const engram::Error& e) {
    EXPECT_EQ(e.code(), engram::ErrorCode::bad_input);
    EXPECT_EQ(std::string(e.what()).rfind("brains = 0", 0), 0u) << e.what();
  }
}

}  // namespace
