// Batching pays: the 1000-job examples/sweep.yaml run end to end (packing by shape class, one
// Batch per cut), at max batch 1 and 256. jobs/s is the figure the README quotes; result files
// are left out so the ratio measures the engine, not the disk.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/models/assembly/sweep.hpp"

namespace engram::bench {
namespace {

void BM_Sweep1000(benchmark::State& state) {
  const auto max_batch = static_cast<std::size_t>(state.range(0));
  const assembly::Sweep sweep =
      assembly::parse_sweep(io::load_config_file(std::string(ENGRAM_SOURCE_DIR) + "/examples/sweep.yaml"));
  std::map<std::string, std::vector<const assembly::SweepJob*>> classes;
  for (const auto& job : sweep.jobs) classes[assembly::shape_class(job.experiment)].push_back(&job);
  for (auto _ : state) {
    for (const auto& [shape, jobs] : classes) {
      for (std::size_t first = 0; first < jobs.size(); first += max_batch) {
        const std::vector<const assembly::SweepJob*> cut(jobs.begin() + static_cast<std::ptrdiff_t>(first),
                                                         jobs.begin() + static_cast<std::ptrdiff_t>(std::min(jobs.size(), first + max_batch)));
        benchmark::DoNotOptimize(assembly::run_sweep_batch(cut, backend()));
      }
    }
  }
  state.counters["jobs/s"] = benchmark::Counter(static_cast<double>(sweep.jobs.size()),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_Sweep1000)->Arg(1)->Arg(256)->ArgName("max_batch")->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace
}  // namespace engram::bench
