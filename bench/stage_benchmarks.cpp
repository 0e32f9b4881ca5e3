// The stages of a projection step, each timed alone on the configuration of
// projection_benchmark.cpp (area of n neurons, k = round(sqrt(n)), p = 0.01, batch B), so the
// full step's time can be split into its parts:
//
//   BM_Kcap              Backend::kcap over [B, n] int64 inputs
//       neurons/s      B * n per call / wall time
//       kcap_B/s       traffic / wall time; the radix select reads the [B, n] inputs 10 times
//                      (8 digit passes, a count pass, a write pass) = 80 B per neuron, plus the
//                      4 B per winner it writes
//   BM_AccumulateInputs  Backend::accumulate_inputs for 2k firing rows per brain (a step's k
//                        stimulus rows and k recurrent rows, here as one launch)
//       edges/s        edges accumulated / wall time
//       accum_B/s      bench_common.hpp's accumulation traffic / wall time
//   BM_HebbianScale      Backend::hebbian_scale over the same 2k rows per brain, k winners
//       edges/s        edges visited / wall time
//
// The inputs of BM_Kcap are random fixed-point values shaped like a step's: an integer part in
// [0, 48) (a count of incoming unit-weight edges) and, for one neuron in 16, a random fractional
// part (a Hebbian-strengthened edge), so exact ties are common, as they are in a real step.
// BM_AccumulateInputs does not re-zero the inputs between calls (the adds keep accumulating;
// the memory access pattern is the same and int64 cannot overflow in any feasible run).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "engram/engine/backend/launch.hpp"
#include "engram/engine/memory/buffer.hpp"
#include "engram/kernels/core/fixed_point.hpp"
#include "engram/kernels/graph/accumulate.hpp"
#include "engram/kernels/graph/gnp.hpp"
#include "engram/kernels/plasticity/hebbian.hpp"

namespace engram::bench {
namespace {

std::uint64_t mix(std::uint64_t x) {  // SplitMix64 finaliser
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::string config_key(const char* what, NeuronId n, std::size_t batch) {
  return std::string(what) + "/" + std::to_string(n) + "/" + std::to_string(batch);
}

// Runs make() through the fixture slot, turning a failed setup (out of memory, ...) into a
// skipped benchmark instead of a crash.
template <class T, class Make>
T* fixture_or_skip(benchmark::State& state, const std::string& key, Make&& make) {
  try {
    return &FixtureSlot::get<T>(key, std::forward<Make>(make));
  } catch (const std::exception& e) {
    FixtureSlot::release();
    state.SkipWithError((std::string("setup failed: ") + e.what()).c_str());
    return nullptr;
  }
}

// ---- k-cap ---------------------------------------------------------------------------------

struct KcapFixture {
  KcapFixture(NeuronId n, std::uint32_t k, std::size_t batch)
      : inputs(backend(), batch * n), winners(backend(), batch * k) {
    // Filled in host chunks (no [B, n] host copy), in parallel, keyed by flat index.
    const std::size_t total = batch * n;
    std::vector<FixedInput> chunk(std::min<std::size_t>(total, std::size_t{1} << 22));
    for (std::size_t begin = 0; begin < total; begin += chunk.size()) {
      const auto len = static_cast<std::int64_t>(std::min(chunk.size(), total - begin));
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < len; ++i) {
        const std::uint64_t h = mix(begin + static_cast<std::uint64_t>(i));
        const auto count = static_cast<FixedInput>(h % 48);
        const auto fraction = (h >> 60) == 0 ? static_cast<FixedInput>((h >> 32) & 0xFFFFF) : 0;
        chunk[static_cast<std::size_t>(i)] = (count << 32) + fraction;
      }
      backend().copy_from_host(inputs.data() + begin, chunk.data(),
                               static_cast<std::size_t>(len) * sizeof(FixedInput));
    }
  }
  Buffer<FixedInput> inputs;  // [B, n]
  Buffer<NeuronId> winners;   // [B, k]
};

// ---- rows for accumulation and Hebbian scaling ------------------------------------------------

// One fiber's graph for a batch: 2k source rows per brain (sources 0 .. 2k-1, n targets each,
// distinct G(n, p) rows per brain), all of them firing, materialised by the backend's own
// generator; k winners per brain for the Hebbian update.
struct RowsFixture {
  RowsFixture(NeuronId n_target, std::uint32_t k, std::size_t batch_size)
      : n(n_target),
        rows_per_brain(2 * k),
        batch(batch_size),
        row_start(backend(), batch * rows_per_brain),
        row_degree(backend(), batch * rows_per_brain),
        firing(backend(), batch * rows_per_brain),
        inputs(backend(), batch * n),
        is_winner(backend(), batch * n),
        grow(backend(), std::vector<float>(batch, static_cast<float>(1.0 + kBeta))),
        shrink(backend(), std::vector<float>(batch, static_cast<float>(1.0 / (1.0 + kBeta)))) {
    Backend& be = backend();
    const std::size_t count = batch * rows_per_brain;
    std::vector<std::uint64_t> seeds(batch);
    for (std::size_t b = 0; b < batch; ++b) seeds[b] = mix(0xB5E7C0DEull + b);
    Buffer<std::uint64_t> graph_seed(be, seeds);
    Buffer<double> p(be, std::vector<double>(batch, kP));
    std::vector<std::uint32_t> req_brain(count);
    std::vector<NeuronId> req_source(count);
    for (std::size_t i = 0; i < count; ++i) {
      req_brain[i] = static_cast<std::uint32_t>(i / rows_per_brain);
      req_source[i] = static_cast<NeuronId>(i % rows_per_brain);
    }
    firing.upload(req_source);  // every row fires, in increasing order, as a step's firing set
    {
      Buffer<std::uint32_t> brain_ids(be, req_brain);
      Buffer<NeuronId> source_ids(be, req_source);
      Buffer<EdgeOffset> degree(be, count);
      Buffer<EdgeOffset> offset(be, count);
      const graph::FiberGraph g{graph_seed.data(), p.data(), /*fiber=*/1, n, /*exclude_self=*/false};
      const graph::RowRequests requests{brain_ids.data(), source_ids.data(),
                                        static_cast<std::int64_t>(count)};
      launch(be, requests.count, graph::GnpRowDegree{g, requests, degree.data()});
      const EdgeOffset total = be.exclusive_scan(degree.data(), offset.data(), requests.count);
      targets = Buffer<NeuronId>(be, static_cast<std::size_t>(total));
      weights = Buffer<float>(be, static_cast<std::size_t>(total));
      launch(be, requests.count, graph::GnpRowFill{g, requests, offset.data(), 0, table(), 1.0f});
      edges = static_cast<double>(total);
    }
    inputs.zero();
    // k winners per brain, spread over the area.
    is_winner.zero();
    std::vector<NeuronId> winners(batch * k);
    for (std::size_t b = 0; b < batch; ++b) {
      for (std::uint32_t i = 0; i < k; ++i) {
        winners[b * k + i] = static_cast<NeuronId>((mix(b * k + i) % (n / k)) + i * (n / k));
      }
    }
    Buffer<NeuronId> winner_ids(be, winners);
    launch(be, static_cast<std::int64_t>(batch) * k, plasticity::MarkWinners{winner_ids.data(), k, is_winner.data(), n, 1});
    be.synchronize();
  }

  graph::RowTable table() {
    return graph::RowTable{row_start.data(), row_degree.data(), targets.data(), weights.data(),
                           rows_per_brain};
  }
  graph::FiringSet firing_set() const { return {firing.data(), rows_per_brain}; }
  std::int64_t items() const { return static_cast<std::int64_t>(batch) * rows_per_brain; }

  NeuronId n;
  std::uint32_t rows_per_brain;
  std::size_t batch;
  Buffer<EdgeOffset> row_start;
  Buffer<std::uint32_t> row_degree;
  Buffer<NeuronId> targets;
  Buffer<float> weights;
  Buffer<NeuronId> firing;           // [B, 2k]
  Buffer<FixedInput> inputs;         // [B, n]
  Buffer<std::uint8_t> is_winner;    // [B, n]
  Buffer<float> grow, shrink;        // [B]: 1 + beta and its inverse, alternated
  double edges = 0;
};

double rows_memory_estimate(NeuronId n, std::uint32_t k, std::size_t batch) {
  const double rows = 2.0 * k * static_cast<double>(batch);
  const double edges = rows * n * kP;
  // inputs i64 + is_winner u8 per neuron; per row: start, degree, firing id and the setup's
  // request and scan temporaries; per edge: target + weight.
  return static_cast<double>(batch) * n * 9.0 + rows * 40.0 + edges * 8.0;
}

RowsFixture* rows_fixture(benchmark::State& state) {
  const auto n = static_cast<NeuronId>(state.range(0));
  const auto batch = static_cast<std::size_t>(state.range(1));
  const std::uint32_t k = cap_for(n);
  if (skip_if_over_budget(state, rows_memory_estimate(n, k, batch))) return nullptr;
  return fixture_or_skip<RowsFixture>(state, config_key("rows", n, batch), [&] {
    return std::make_unique<RowsFixture>(n, k, batch);
  });
}

}  // namespace

void BM_Kcap(benchmark::State& state) {
  const auto n = static_cast<NeuronId>(state.range(0));
  const auto batch = static_cast<std::size_t>(state.range(1));
  const std::uint32_t k = cap_for(n);
  const double bytes = static_cast<double>(batch) * n * 8.0;
  if (skip_if_over_budget(state, bytes * 1.05)) return;
  KcapFixture* f = fixture_or_skip<KcapFixture>(state, config_key("kcap", n, batch), [&] {
    return std::make_unique<KcapFixture>(n, k, batch);
  });
  if (f == nullptr) return;
  Backend& be = backend();
  for (auto _ : state) {
    be.kcap(f->inputs.data(), static_cast<std::int64_t>(batch), n, k, f->winners.data());
    be.synchronize();
  }
  using benchmark::Counter;
  state.counters["neurons/s"] =
      Counter(static_cast<double>(batch) * n, Counter::kIsIterationInvariantRate);
  state.counters["kcap_B/s"] = Counter(10.0 * bytes + 4.0 * static_cast<double>(batch) * k,
                                       Counter::kIsIterationInvariantRate);
}

void BM_AccumulateInputs(benchmark::State& state) {
  RowsFixture* f = rows_fixture(state);
  if (f == nullptr) return;
  Backend& be = backend();
  const graph::AccumulateInputs kernel{f->table(), f->firing_set(), f->inputs.data(), f->n};
  for (auto _ : state) {
    launch(be, f->items(), kernel);
    be.synchronize();
  }
  using benchmark::Counter;
  state.counters["edges/s"] = Counter(f->edges, Counter::kIsIterationInvariantRate);
  state.counters["accum_B/s"] = Counter(accumulate_bytes(static_cast<double>(f->items()), f->edges),
                                        Counter::kIsIterationInvariantRate);
}

void BM_HebbianScale(benchmark::State& state) {
  RowsFixture* f = rows_fixture(state);
  if (f == nullptr) return;
  Backend& be = backend();
  // Alternate 1 + beta and 1 / (1 + beta) so the weights stay bounded however many calls run.
  const plasticity::HebbianScale up{f->table(), f->firing_set(), f->is_winner.data(), f->grow.data(), f->n};
  const plasticity::HebbianScale down{f->table(), f->firing_set(), f->is_winner.data(), f->shrink.data(), f->n};
  bool even = true;
  for (auto _ : state) {
    launch(be, f->items(), even ? up : down);
    be.synchronize();
    even = !even;
  }
  state.counters["edges/s"] = benchmark::Counter(f->edges, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace engram::bench
