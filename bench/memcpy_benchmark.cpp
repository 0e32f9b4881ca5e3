// Plain memory-copy bandwidth, measured in the same binary as the step and stage benchmarks so
// their *_B/s counters can be read as a fraction of what this machine's memory system delivers.
//
//   BM_Memcpy        std::memcpy of 256 MiB by the calling thread
//   BM_MemcpyOmp     the same copy split into one contiguous slice per OpenMP thread (the
//                    fair ceiling for the CPU backend, whose kernels are OpenMP loops)
//   BM_BackendCopy   Backend::copy_within of 256 MiB in the backend's memory; registered by
//                    main.cpp only for a GPU backend (on the CPU it is BM_Memcpy again)
//
// Counters:
//   bytes_per_second  bytes copied / wall time (Google Benchmark's usual convention)
//   copy_B/s          traffic / wall time = 2 x bytes copied (each byte read once, written
//                     once); the convention of the other *_B/s counters
#include <benchmark/benchmark.h>

#include <omp.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "bench_common.hpp"
#include "engram/engine/memory/buffer.hpp"

namespace engram::bench {
namespace {

constexpr std::size_t kCopyBytes = std::size_t{256} << 20;

struct HostCopyFixture {
  HostCopyFixture() : src(new unsigned char[kCopyBytes]), dst(new unsigned char[kCopyBytes]) {
    // Touch every page first so page faults are not timed.
    std::memset(src.get(), 1, kCopyBytes);
    std::memset(dst.get(), 0, kCopyBytes);
  }
  std::unique_ptr<unsigned char[]> src, dst;
};

struct DeviceCopyFixture {
  DeviceCopyFixture() : src(backend(), kCopyBytes), dst(backend(), kCopyBytes) {
    src.zero();
    dst.zero();
    backend().synchronize();
  }
  Buffer<unsigned char> src, dst;
};

void set_copy_counters(benchmark::State& state) {
  const auto bytes = static_cast<std::int64_t>(kCopyBytes);
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["copy_B/s"] =
      benchmark::Counter(2.0 * static_cast<double>(bytes), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Memcpy(benchmark::State& state) {
  if (skip_if_over_budget(state, 2.0 * kCopyBytes)) return;
  auto& f = FixtureSlot::get<HostCopyFixture>("host-copy", [] { return std::make_unique<HostCopyFixture>(); });
  for (auto _ : state) {
    std::memcpy(f.dst.get(), f.src.get(), kCopyBytes);
    benchmark::DoNotOptimize(f.dst.get());
    benchmark::ClobberMemory();
  }
  set_copy_counters(state);
}

void BM_MemcpyOmp(benchmark::State& state) {
  if (skip_if_over_budget(state, 2.0 * kCopyBytes)) return;
  auto& f = FixtureSlot::get<HostCopyFixture>("host-copy", [] { return std::make_unique<HostCopyFixture>(); });
  unsigned char* dst = f.dst.get();
  const unsigned char* src = f.src.get();
  for (auto _ : state) {
#pragma omp parallel
    {
      const auto threads = static_cast<std::size_t>(omp_get_num_threads());
      const auto t = static_cast<std::size_t>(omp_get_thread_num());
      // 4 KiB-aligned slices so no two threads share a page.
      const std::size_t slice = (kCopyBytes / threads + 4095) / 4096 * 4096;
      const std::size_t begin = std::min(kCopyBytes, t * slice);
      const std::size_t end = std::min(kCopyBytes, begin + slice);
      std::memcpy(dst + begin, src + begin, end - begin);
    }
    benchmark::DoNotOptimize(dst);
    benchmark::ClobberMemory();
  }
  set_copy_counters(state);
  state.counters["threads"] = benchmark::Counter(omp_get_max_threads());
}

BENCHMARK(BM_Memcpy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MemcpyOmp)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

void BM_BackendCopy(benchmark::State& state) {
  if (skip_if_over_budget(state, 2.0 * kCopyBytes)) return;
  DeviceCopyFixture* f = nullptr;
  try {
    f = &FixtureSlot::get<DeviceCopyFixture>("device-copy", [] { return std::make_unique<DeviceCopyFixture>(); });
  } catch (const std::exception& e) {
    FixtureSlot::release();
    state.SkipWithError((std::string("setup failed: ") + e.what()).c_str());
    return;
  }
  Backend& be = backend();
  for (auto _ : state) {
    be.copy_within(f->dst.data(), f->src.data(), kCopyBytes);
    be.synchronize();
  }
  set_copy_counters(state);
}

}  // namespace engram::bench
