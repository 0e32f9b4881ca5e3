// engram_attention_bench: tiled online-softmax attention, forward and backward, at sequence
// lengths 64..4096 and head dims 16 and 64 (4 heads, one sequence), plus a square SGEMM through
// Backend::gemm whose GFLOP/s is this machine's practical peak in the same run. Each attention
// benchmark reports GFLOP/s (forward 4 L^2 D H flops; backward 10 L^2 D H, the FlashAttention
// convention, though this backward recomputes more) beside the GEMM peak (torch_sdpa.py divides).
// bench/peers/torch_sdpa.py runs PyTorch's scaled_dot_product_attention on the CPU at the same
// sizes and prints the time ratios.
//
//   build/bench/engram_attention_bench --benchmark_filter='Attention.*/1024'
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/models/nn/attention.hpp"

namespace {

constexpr std::int64_t kHeads = 4;
double g_gemm_gflops = 0;  // set by BM_Gemm, which runs first

engram::Backend& backend() {
  static std::unique_ptr<engram::Backend> b = engram::make_backend("cpu");
  return *b;
}

struct Problem {
  std::int64_t length, dim;
  std::vector<std::int64_t> offsets;
  std::vector<float> q, k, v, o, lse, dout, delta, dq, dk, dv;
  Problem(std::int64_t L, std::int64_t D) : length(L), dim(D), offsets{0, L} {
    const auto n = static_cast<std::size_t>(L * kHeads * D);
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto* x : {&q, &k, &v, &dout}) {
      x->resize(n);
      for (float& e : *x) e = normal(rng);
    }
    for (auto* x : {&o, &dq, &dk, &dv}) x->assign(n, 0.0f);
    lse.assign(static_cast<std::size_t>(L * kHeads), 0.0f);
    delta = lse;
  }
  engram::attention::AttentionShape shape() const {
    return {offsets.data(), offsets.data(), 1, kHeads, dim, false, nullptr, 1.0f / std::sqrt(static_cast<float>(dim))};
  }
};

void report(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["gemm_peak_GFLOP/s"] = g_gemm_gflops;
}

void BM_Gemm(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  std::vector<float> a(static_cast<std::size_t>(n * n), 1.0f), b(a), c(a);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    backend().gemm(false, false, n, n, n, 1.0f, a.data(), b.data(), 0.0f, c.data());
    benchmark::DoNotOptimize(c.data());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double flops = 2.0 * static_cast<double>(n * n * n);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  g_gemm_gflops = flops * 1e-9 * static_cast<double>(state.iterations()) / seconds;
}

void BM_AttentionForward(benchmark::State& state) {
  Problem p(state.range(1), state.range(0));
  const engram::attention::AttentionForward<float> fwd{p.shape(), p.q.data(), p.k.data(), p.v.data(), p.o.data(), p.lse.data()};
  for (auto _ : state) {
    engram::models::attention_forward(backend(), fwd, p.length);
    benchmark::DoNotOptimize(p.o.data());
  }
  report(state, 4.0 * static_cast<double>(p.length * p.length * p.dim * kHeads));
}

void BM_AttentionBackward(benchmark::State& state) {
  Problem p(state.range(1), state.range(0));
  engram::models::attention_forward(backend(), {p.shape(), p.q.data(), p.k.data(), p.v.data(), p.o.data(), p.lse.data()}, p.length);
  const engram::attention::AttentionBackward<float> bwd{p.shape(), p.q.data(), p.k.data(), p.v.data(), p.o.data(),
                                                        p.lse.data(), p.dout.data(), p.delta.data(), p.dq.data(),
                                                        p.dk.data(), p.dv.data(), p.length};
  for (auto _ : state) {
    engram::models::attention_backward(backend(), bwd, p.length);
    benchmark::DoNotOptimize(p.dq.data());
  }
  report(state, 10.0 * static_cast<double>(p.length * p.length * p.dim * kHeads));
}

void sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t d : {16, 64}) {
    for (std::int64_t L = 64; L <= 4096; L *= 4) b->Args({d, L});
  }
  b->ArgNames({"D", "L"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(BM_Gemm)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AttentionForward)->Apply(sizes);
BENCHMARK(BM_AttentionBackward)->Apply(sizes);
BENCHMARK_MAIN();
