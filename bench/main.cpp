// engram_bench: Google Benchmark driver. The memcpy reference benchmarks register themselves
// (memcpy_benchmark.cpp) and run first; then, for each (n, B) of the grid, the full projection
// step followed by its stages. See bench/README.md.
#include <benchmark/benchmark.h>

#include <omp.h>

#include <cstdio>
#include <exception>
#include <string>

#include "bench_common.hpp"
#include "engram/engine/error.hpp"

int main(int argc, char** argv) {
  using namespace engram::bench;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  try {
    engram::Backend& be = backend();
    (void)memory_budget_bytes();
    benchmark::AddCustomContext("engram_backend", std::string(be.name()) + " (ENGRAM_BENCH_BACKEND=" +
                                                      backend_request() + ")");
    benchmark::AddCustomContext("engram_memory_budget",
                                format_gib(memory_budget_bytes()) + " (ENGRAM_BENCH_MEMORY_GIB)");
    benchmark::AddCustomContext("omp_max_threads", std::to_string(omp_get_max_threads()));
    if (be.kind() != engram::BackendKind::cpu) {
      benchmark::RegisterBenchmark("BM_BackendCopy", BM_BackendCopy)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  } catch (const engram::Error& e) {
    std::fprintf(stderr, "engram_bench: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engram_bench: %s\n", e.what());
    return 1;
  }

  struct Entry {
    const char* name;
    void (*fn)(benchmark::State&);
  };
  const Entry per_config[] = {{"BM_ProjectStep", BM_ProjectStep},
                              {"BM_Kcap", BM_Kcap},
                              {"BM_AccumulateInputs", BM_AccumulateInputs},
                              {"BM_HebbianScale", BM_HebbianScale}};
  for (const std::int64_t n : kGridN) {
    for (const std::int64_t batch : kGridBatch) {
      for (const Entry& e : per_config) {
        benchmark::RegisterBenchmark(e.name, e.fn)
            ->Args({n, batch})
            ->ArgNames({"n", "B"})
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }

  // Batching pays off at small n: 1024 brains of n = 10^4 in one launch per stage, to read
  // against BM_ProjectStep/n:10000/B:1 (brain-steps/s = B / time per step).
  benchmark::RegisterBenchmark("BM_ProjectStep", BM_ProjectStep)
      ->Args({10'000, 1024})
      ->ArgNames({"n", "B"})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();

  benchmark::RunSpecifiedBenchmarks();
  FixtureSlot::release();  // before the backend that owns the fixtures' memory goes away
  benchmark::Shutdown();
  return 0;
}
