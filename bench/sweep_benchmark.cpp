// Batching pays: the 1000-job examples/sweep.yaml run end to end (packing by shape class, one
// batch per cut), at max batch 1 and 256. jobs/s is the figure the README quotes; result files
// are left out so the ratio measures the engine, not the disk.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/engine/scheduler/sweep.hpp"
#include "engram/models/assembly/projection_kind.hpp"

namespace engram::bench {
namespace {

void BM_Sweep1000(benchmark::State& state) {
  const auto max_batch = static_cast<std::size_t>(state.range(0));
  const sched::Sweep sweep = sched::parse_sweep(
      io::load_config_file(std::string(ENGRAM_SOURCE_DIR) + "/examples/sweep.yaml"), assembly::projection_kind());
  std::vector<const sched::SweepJob*> all;
  for (const auto& job : sweep.jobs) all.push_back(&job);
  sched::PackOptions pack;
  pack.max_batch = static_cast<std::uint32_t>(max_batch);
  const auto batches = sched::plan_batches(all, pack).batches;
  for (auto _ : state) {
    for (const auto& batch : batches) benchmark::DoNotOptimize(sched::run_jobs(sweep, batch, backend(), {}));
  }
  state.counters["jobs/s"] = benchmark::Counter(static_cast<double>(sweep.jobs.size()),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_Sweep1000)->Arg(1)->Arg(256)->ArgName("max_batch")->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace
}  // namespace engram::bench
