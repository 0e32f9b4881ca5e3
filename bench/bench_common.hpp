#pragma once
// Shared pieces of engram_bench: the backend every benchmark runs on, the memory budget that
// decides which configurations are skipped, the (n, B) grid, a one-slot cache for expensive
// fixtures, and the byte-count models behind the bandwidth counters.
//
//   ENGRAM_BENCH_BACKEND=cpu|cuda|auto   backend (default cpu)
//   ENGRAM_BENCH_MEMORY_GIB=8            configurations estimated above this are skipped
//
// Byte counts ("*_B/s" counters) are memory *traffic*: every byte a stage must read plus every
// byte it must write, counted once each, assuming no cache reuse. memcpy's copy_B/s uses the
// same convention (2 x the size copied), so the ratio of two *_B/s counters is meaningful.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "engram/engine/backend/backend.hpp"

namespace engram::bench {

// The projection configuration the issue asks for: k = round(sqrt(n)), p = 0.01, beta = 0.05.
inline constexpr double kP = 0.01;
inline constexpr double kBeta = 0.05;
inline std::uint32_t cap_for(NeuronId n) {
  return static_cast<std::uint32_t>(std::lround(std::sqrt(static_cast<double>(n))));
}

// The backend named by ENGRAM_BENCH_BACKEND, created on first use. Throws engram::Error when the
// variable is invalid or names an unusable backend.
Backend& backend();
std::string backend_request();  // what ENGRAM_BENCH_BACKEND asked for ("cpu" when unset)

// ENGRAM_BENCH_MEMORY_GIB in bytes (default 8 GiB). Throws engram::Error when invalid.
double memory_budget_bytes();
std::string format_gib(double bytes);

// Marks the run skipped (SkipWithError) and returns true when `estimate` exceeds the budget.
bool skip_if_over_budget(benchmark::State& state, double estimate_bytes);

// The (n, B) grid of the step and stage benchmarks: n in {1e4, 1e5, 1e6} x B in {1, 16, 256}.
// main.cpp registers, for each configuration in turn, the full step then its stages, so a
// configuration's rows read side by side and each fixture is built once.
inline constexpr std::int64_t kGridN[] = {10'000, 100'000, 1'000'000};
inline constexpr std::int64_t kGridBatch[] = {1, 16, 256};

// Benchmarks over the grid; state.range(0) = n, state.range(1) = B.
void BM_ProjectStep(benchmark::State& state);       // projection_benchmark.cpp
void BM_Kcap(benchmark::State& state);              // stage_benchmarks.cpp
void BM_AccumulateInputs(benchmark::State& state);  // stage_benchmarks.cpp
void BM_HebbianScale(benchmark::State& state);      // stage_benchmarks.cpp
// Device-to-device copy through Backend::copy_within; registered only for a GPU backend.
void BM_BackendCopy(benchmark::State& state);       // memcpy_benchmark.cpp

// Traffic of input accumulation (graph/accumulate.hpp) for `rows` firing source rows holding
// `edges` edges in all:
//   per row:  firing neuron id 4 B + row_start 8 B + row_degree 4 B          = 16 B read
//   per edge: target 4 B + weight 4 B read, int64 input 8 B read + 8 B written = 24 B
// The input update is an atomic read-modify-write of 8 B. Targets of a row are ~1/p = 100
// neurons apart, so when the [B, n] input array does not fit in cache each edge really moves a
// whole 64 B line in and out; the model counts only the useful bytes.
inline double accumulate_bytes(double rows, double edges) { return 16.0 * rows + 24.0 * edges; }

// One fixture at a time survives between the calls Google Benchmark makes to a benchmark
// function (it calls it again with more iterations until MinTime is reached), so an expensive
// setup runs once per configuration. Asking for a different key destroys the old fixture
// first, so two large configurations never coexist in memory.
class FixtureSlot {
 public:
  template <class T, class Make>
  static T& get(const std::string& key, Make&& make) {
    if (key_ != key || holder_ == nullptr) {
      holder_.reset();  // free the previous configuration before allocating the next
      key_.clear();
      auto fresh = std::make_unique<Holder<T>>(std::forward<Make>(make)());
      holder_ = std::move(fresh);
      key_ = key;
    }
    return *static_cast<Holder<T>*>(holder_.get())->value;
  }
  static void release() {
    holder_.reset();
    key_.clear();
  }

 private:
  struct Base {
    virtual ~Base() = default;
  };
  template <class T>
  struct Holder final : Base {
    explicit Holder(std::unique_ptr<T> v) : value(std::move(v)) {}
    std::unique_ptr<T> value;
  };
  static inline std::unique_ptr<Base> holder_;
  static inline std::string key_;
};

}  // namespace engram::bench
