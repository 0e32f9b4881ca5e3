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
  void gnp_row_degree(const graph::GnpRowDegree& kernel) override {
    bind_launch_context();
    Exec::for_each_index(kernel.requests.count, kernel);
  }
  void gnp_row_fill(const graph::GnpRowFill& kernel) override {
    bind_launch_context();
    Exec::for_each_index(kernel.requests.count, kernel);
  }
  EdgeOffset exclusive_scan(const EdgeOffset* in, EdgeOffset* out, std::int64_t n) override {
    bind_launch_context();
    if (n == 0) return 0;
    thrust::exclusive_scan(Exec::policy(), in, in + n, out, EdgeOffset{0});
    EdgeOffset last_in = 0, last_out = 0;
    copy_to_host(&last_in, in + n - 1, sizeof(EdgeOffset));
    copy_to_host(&last_out, out + n - 1, sizeof(EdgeOffset));
    return last_in + last_out;
  }
  void accumulate_inputs(const graph::AccumulateInputs& kernel, std::int64_t items) override {
    bind_launch_context();
    Exec::for_each_index(items, kernel);
  }
  void hebbian_scale(const plasticity::HebbianScale& kernel, std::int64_t items) override {
    bind_launch_context();
    Exec::for_each_index(items, kernel);
  }
  void mark_winners(const plasticity::MarkWinners& kernel, std::int64_t items) override {
    bind_launch_context();
    Exec::for_each_index(items, kernel);
  }
  void incoming_sums(const plasticity::IncomingSums& kernel, std::int64_t slots) override {
    bind_launch_context();
    Exec::for_each_index(slots, kernel);
  }
  void rescale_incoming(const plasticity::RescaleIncoming& kernel, std::int64_t slots) override {
    bind_launch_context();
    Exec::for_each_index(slots, kernel);
  }
  void add_input_noise(const graph::InputNoise& kernel, std::int64_t items) override {
    bind_launch_context();
    Exec::for_each_index(items, kernel);
  }
  void sparse_accumulate(const graph::SparseAccumulate& kernel, std::int64_t edges) override {
    bind_launch_context();
    Exec::for_each_index(edges, kernel);
  }
  void sparse_hebbian(const plasticity::SparseHebbian& kernel, std::int64_t edges) override {
    bind_launch_context();
    Exec::for_each_index(edges, kernel);
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

  // ---- nn and attention ----
  void attention_forward(const attention::AttentionForward<float>& kernel, std::int64_t total_q) override {
    bind_launch_context();
    Exec::for_each_index(attention::work_items(total_q, kernel.shape.heads), kernel);
  }
  void attention_backward(const attention::AttentionBackward<float>& kernel, std::int64_t total_k) override {
    bind_launch_context();
    Exec::for_each_index(attention::work_items(kernel.total_q, kernel.shape.heads),
                         attention::AttentionBackwardQueryPass<float>{kernel});
    Exec::for_each_index(attention::work_items(total_k, kernel.shape.heads),
                         attention::AttentionBackwardKeyPass<float>{kernel});
  }
  // ---- Optimal transport (kernels/ot) ----
  void sinkhorn_iterations(const ot::SinkhornBatch<float>& batch, std::int32_t first, std::int32_t count) override {
    run_sinkhorn(batch, first, count);
  }
  void sinkhorn_iterations(const ot::SinkhornBatch<double>& batch, std::int32_t first, std::int32_t count) override {
    run_sinkhorn(batch, first, count);
  }
  void sinkhorn_outputs(const ot::SinkhornBatch<float>& batch, const ot::SinkhornOutputs<float>& out) override {
    run_sinkhorn_outputs(batch, out);
  }
  void sinkhorn_outputs(const ot::SinkhornBatch<double>& batch, const ot::SinkhornOutputs<double>& out) override {
    run_sinkhorn_outputs(batch, out);
  }
  // ---- end optimal transport ----

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
  void run_sinkhorn(const ot::SinkhornBatch<T>& b, std::int32_t first, std::int32_t count) {
    bind_launch_context();
    // Below ~10^6 cost evaluations per iteration the CPU runs the loops inline: there, four OpenMP
    // fork/joins per iteration cost more than they save, above all on oversubscribed cores.
    const double pairs = static_cast<double>(b.nx) * static_cast<double>(b.ny) / b.problems;
    const bool inline_loops = kind() == BackendKind::cpu && pairs < 1048576.0;
    const auto launch = [&](std::int64_t n, const auto& f) {
      if (inline_loops) {
        for (std::int64_t i = 0; i < n; ++i) f(i);
      } else {
        Exec::for_each_index(n, f);
      }
    };
    ot::with_cost<T>(b.cost_kind, [&](auto cost) {
      using Cost = decltype(cost);
      for (std::int32_t k = first; k < first + count; ++k) {
        launch(b.ny, ot::SinkhornHalfStep<T, Cost, false>{b, k});
        launch(b.nx, ot::SinkhornHalfStep<T, Cost, true>{b, k});
        launch(b.problems, ot::SinkhornCheck<T>{b, k});
        launch(b.nx, ot::SinkhornCommit<T>{b});
      }
    });
  }
  template <class T>
  void run_sinkhorn_outputs(const ot::SinkhornBatch<T>& b, const ot::SinkhornOutputs<T>& out) {
    bind_launch_context();
    ot::with_cost<T>(b.cost_kind, [&](auto cost) {
      Exec::for_each_index(b.nx, ot::SinkhornRows<T, decltype(cost)>{b, out});
    });
    Exec::for_each_index(b.problems, ot::SinkhornTotals<T>{b, out});
  }

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
