#pragma once
// The kernel half of every backend, written once. Each backend's translation unit includes this
// header and instantiates KernelBackend with its own Exec policy:
//   Exec::for_each_index(n, f)  — f(i) for i in [0, n): an OpenMP loop or a grid-stride kernel
//   Exec::policy()              — the Thrust execution policy for collectives
//   Exec::kcap_chunk            — elements per k-cap work item
// so the CPU and CUDA backends run the same functors from kernels/ and differ only in launch
// mechanics and memory.
#include <algorithm>
#include <vector>

#include <thrust/scan.h>

#include "engram/engine/backend/backend.hpp"
#include "engram/kernels/select/kcap.hpp"

namespace engram::detail {

template <class Exec>
class KernelBackend : public Backend {
 public:
  EdgeOffset exclusive_scan(const EdgeOffset* in, EdgeOffset* out, std::int64_t n) override {
    bind_launch_context();
    if (n == 0) return 0;
    thrust::exclusive_scan(Exec::policy(), in, in + n, out, EdgeOffset{0});
    EdgeOffset last_in = 0, last_out = 0;
    copy_to_host(&last_in, in + n - 1, sizeof(EdgeOffset));
    copy_to_host(&last_out, out + n - 1, sizeof(EdgeOffset));
    return last_in + last_out;
  }
  void kcap(const FixedInput* inputs, std::int64_t batch, NeuronId n, std::uint32_t k,
            NeuronId* winners) override {
    bind_launch_context();
    using namespace select;
    const KcapShape shape{batch, n, k, std::min<NeuronId>(Exec::kcap_chunk, n)};
    const std::int64_t chunk_items = batch * shape.chunks_per_brain();
    auto* state = workspace<KcapThreshold>(state_, batch);
    auto* histogram = workspace<std::uint32_t>(histogram_, batch * kRadixBins);
    auto* above = workspace<std::uint32_t>(chunk_above_, chunk_items);
    auto* equal = workspace<std::uint32_t>(chunk_equal_, chunk_items);

    Exec::for_each_index(batch, KcapInit{state, k});
    for (int pass = 0; pass < kRadixPasses; ++pass) {
      const int shift = 64 - kRadixBits * (pass + 1);
      fill_zero(histogram, sizeof(std::uint32_t) * batch * kRadixBins);
      Exec::for_each_index(chunk_items, RadixHistogram{shape, inputs, state, histogram, shift});
      Exec::for_each_index(batch, RadixPick{histogram, state, shift});
    }
    Exec::for_each_index(chunk_items, ChunkCount{shape, inputs, state, above, equal});
    Exec::for_each_index(batch, ChunkScan{shape.chunks_per_brain(), above, equal});
    Exec::for_each_index(chunk_items, ChunkWrite{shape, inputs, state, above, equal, winners});
  }

  ~KernelBackend() override = default;

 protected:
  // Called before every launch: a backend whose launches depend on per-thread state (the CUDA
  // backend's current stream) makes that state its own here.
  virtual void bind_launch_context() {}

  // Grow-only scratch memory, kept between calls so a step allocates nothing.
  struct Scratch {
    void* ptr = nullptr;
    std::size_t bytes = 0;
  };
  void release_workspaces() noexcept {
    for (Scratch* s : {&state_, &histogram_, &chunk_above_, &chunk_equal_}) {
      if (s->ptr != nullptr) release(s->ptr);
      *s = Scratch{};
    }
  }

 private:
  template <class T>
  T* workspace(Scratch& scratch, std::int64_t count) {
    const std::size_t bytes = sizeof(T) * static_cast<std::size_t>(std::max<std::int64_t>(count, 1));
    if (scratch.bytes < bytes) {
      if (scratch.ptr != nullptr) release(scratch.ptr);
      scratch.ptr = allocate(bytes);
      scratch.bytes = bytes;
    }
    return static_cast<T*>(scratch.ptr);
  }

  Scratch state_, histogram_, chunk_above_, chunk_equal_;
};

}  // namespace engram::detail
