// One full Assembly Calculus projection step (ExactBatch::project) of B brains at once: a stimulus of
// k neurons fires into area A (n neurons, cap k) that also has a recurrent fiber A -> A; p = 0.01,
// beta = 0.05, k = round(sqrt(n)), implicit graph mode.
//
// A step is: zero the [B, n] inputs, accumulate the stimulus rows and the previous winners'
// rows, k-cap, Hebbian update of both fibers, then copy the winners to the host and materialise
// the rows of neurons that fire for the first time. The whole step is timed, materialisation
// included: it is part of a real step. Setup runs once per configuration: building the batch
// (which materialises the stimulus rows), then untimed warm-up steps until the assembly has
// nearly converged - a step that grew the batch's support by under 0.5% - or kMaxWarmupSteps.
// Without it the few timed iterations of a large configuration (often just one) would catch the
// early steps' bulk materialisation and the edge pool's amortised doubling (Buffer::reserve_keep:
// a multi-GiB copy into freshly faulted memory) and misstate a typical step several-fold.
//
// Counters:
//   neuron_steps/s  B * n per step / wall time
//   accum_B/s       input-accumulation traffic of one step (bench_common.hpp's model, from the
//                   measured degrees of the rows that fire) / wall time of the whole step
//   edges/step      edges accumulated per step over the batch
//   support/k       rows of A -> A materialised per brain (brain 0), in units of k, at the end
//   warmup          untimed steps taken before timing
//   est_GiB         the memory estimate the budget check used
#include <benchmark/benchmark.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "engram/models/assembly/exact_batch.hpp"

namespace engram::bench {
namespace {

constexpr int kMinWarmupSteps = 3;
constexpr int kMaxWarmupSteps = 15;  // the support settles in about 10 steps at every n
// The support of A (neurons that ever fired, hence rows of A -> A materialised) settles at about
// 2.5k (n = 1e4) to 4.0k (n = 1e6) for this configuration; the estimate assumes 4.25k.
constexpr double kSupportPerK = 4.25;
// Brains whose firing rows are read back to count edges; the rest are assumed alike (every row
// degree is Binomial(n, p), so the mean over thousands of rows is within a fraction of 1%).
constexpr std::size_t kDegreeSampleBrains = 4;

double projection_memory_estimate(NeuronId n, std::uint32_t k, std::size_t batch) {
  const double nd = n, kd = k, edges_per_row = nd * kP;
  // [B, n] state: inputs int64, is_winner u8, host ever_fired u8, A -> A row_start i64 and
  // row_degree u32.
  const double dense = nd * (8 + 1 + 1 + 8 + 4);
  // Edge pools (target u32 + weight f32): the stimulus rows and the support's rows. The pools
  // grow by doubling; on the CPU untouched capacity is not resident (peak resident measured at
  // 1.19 x the pools' contents at n = 1e6, B = 16), on a GPU it is.
  const double pool_edges = (kd + kSupportPerK * kd) * edges_per_row;
  const double slack = backend().kind() == BackendKind::cpu ? 1.2 : 2.0;
  return static_cast<double>(batch) * (dense + slack * 8.0 * pool_edges);
}

struct ProjectionFixture {
  ProjectionFixture(NeuronId n, std::uint32_t k, std::size_t batch_size)
      : batch(backend(), make_spec(n, k), make_brains(batch_size)) {
    std::uint64_t support = total_support(batch_size);
    for (int t = 0; t < kMaxWarmupSteps; ++t) {
      batch.project();
      const std::uint64_t now = total_support(batch_size);
      ++warmup_steps;
      if (t + 1 >= kMinWarmupSteps && 200 * (now - support) < now) break;
      support = now;
    }
    // Rows that fire in the next step: the stimulus's k rows and the current winners' rows.
    const std::size_t sampled = std::min(batch_size, kDegreeSampleBrains);
    double edges = 0;
    for (std::size_t b = 0; b < sampled; ++b) {
      for (NeuronId s = 0; s < k; ++s) edges += static_cast<double>(batch.row(b, 0, s).targets.size());
      for (NeuronId w : batch.winners(b, "A")) {
        edges += static_cast<double>(batch.row(b, 1, w).targets.size());
      }
    }
    const double scale = static_cast<double>(batch_size) / static_cast<double>(sampled);
    edges_per_step = edges * scale;
    rows_per_step = 2.0 * k * static_cast<double>(batch_size);
  }

  std::uint64_t total_support(std::size_t batch_size) const {
    std::uint64_t total = 0;
    for (std::size_t b = 0; b < batch_size; ++b) total += batch.support(b, "A");
    return total;
  }

  static assembly::BrainSpec make_spec(NeuronId n, std::uint32_t k) {
    assembly::BrainSpec spec;
    spec.areas = {{"A", n, k}};
    spec.stimuli = {{"s", k}};
    spec.fibers = {{"s", "A", kBeta, {}}, {"A", "A", kBeta, {}}};
    spec.p = kP;
    spec.mode = assembly::GraphMode::implicit_graph;
    return spec;
  }
  static std::vector<assembly::BrainId> make_brains(std::size_t batch_size) {
    std::vector<assembly::BrainId> brains;
    for (std::size_t i = 0; i < batch_size; ++i) brains.push_back({42, static_cast<std::uint32_t>(i)});
    return brains;
  }

  assembly::ExactBatch batch;
  double edges_per_step = 0;
  double rows_per_step = 0;
  int warmup_steps = 0;
};

}  // namespace

void BM_ProjectStep(benchmark::State& state) {
  const auto n = static_cast<NeuronId>(state.range(0));
  const auto batch_size = static_cast<std::size_t>(state.range(1));
  const std::uint32_t k = cap_for(n);
  const double estimate = projection_memory_estimate(n, k, batch_size);
  if (skip_if_over_budget(state, estimate)) return;

  ProjectionFixture* fixture = nullptr;
  try {
    fixture = &FixtureSlot::get<ProjectionFixture>(
        "project/" + std::to_string(n) + "/" + std::to_string(batch_size),
        [&] { return std::make_unique<ProjectionFixture>(n, k, batch_size); });
  } catch (const std::exception& e) {
    FixtureSlot::release();
    state.SkipWithError((std::string("setup failed: ") + e.what()).c_str());
    return;
  }

  for (auto _ : state) {
    fixture->batch.project();
  }

  using benchmark::Counter;
  const double neuron_steps = static_cast<double>(batch_size) * n;
  state.counters["neuron_steps/s"] = Counter(neuron_steps, Counter::kIsIterationInvariantRate);
  state.counters["brain_steps/s"] = Counter(static_cast<double>(batch_size), Counter::kIsIterationInvariantRate);
  state.counters["accum_B/s"] =
      Counter(accumulate_bytes(fixture->rows_per_step, fixture->edges_per_step),
              Counter::kIsIterationInvariantRate);
  state.counters["edges/step"] = Counter(fixture->edges_per_step);
  state.counters["support/k"] = Counter(static_cast<double>(fixture->batch.support(0, "A")) / k);
  state.counters["warmup"] = Counter(fixture->warmup_steps);
  state.counters["est_GiB"] = Counter(estimate / (1024.0 * 1024.0 * 1024.0));
}

}  // namespace engram::bench
