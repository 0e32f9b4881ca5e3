#pragma once
// R independent runs of one multilayer perceptron, trained in lockstep: parameters, running
// batch-norm statistics, activations and gradients are [R, ...] arrays (run-major), and every
// layer is one pass over all R runs. Hidden layers are Linear -> BatchNorm (optional) -> ReLU;
// the last layer is Linear only (MYOW's MLP and MLP3, Swap-VAE's encoder and decoder).
//
// A run's numbers depend only on its own slices (its seed, its rows): the same bits alone or in
// a batch of any R, on any thread count.
//
//   engram::ssl::BatchedMlp<float> enc({{174, 128, 128}, true}, runs);
//   std::vector<float> params(enc.params_per_run() * runs), stats(enc.stats_per_run() * runs);
//   enc.init(params.data(), stats.data(), seeds, /*tensor=*/0);
//   engram::ssl::MlpTape<float> tape;
//   enc.forward(exec, params.data(), stats.data(), x, rows, engram::ssl::NormMode::train, tape);
//   enc.backward(exec, params.data(), tape, dy, grads.data(), dx);   // grads accumulate
#include <cstdint>
#include <vector>

#include "engram/engine/backend/backend.hpp"

namespace engram::ssl {

// The launch path every ssl kernel goes through: the backend's gemm and a loop over work items
// of host-addressable memory (the CPU backend). Moving the ssl trainers onto the engine's
// device-resident run launch path replaces this one struct.
struct Exec {
  Backend& backend;

  template <class T>
  void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
            const T* b, T beta, T* c) {
    backend.gemm(trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
  }

  template <class F>
  void for_each(std::int64_t n, const F& f) {
    // Small launches run inline: a parallel region costs more than a few hundred element ops.
#pragma omp parallel for schedule(static) if (n > 4096)
    for (std::int64_t i = 0; i < n; ++i) f(i);
  }
};

struct MlpSpec {
  std::vector<std::int64_t> dims;  // input, hidden..., output
  bool batch_norm = true;
};

// train: batch statistics, running statistics move; batch: batch statistics, running statistics
// untouched (BYOL's target network); eval: running statistics.
enum class NormMode { train, batch, eval };

template <class T>
struct MlpTape {
  std::int64_t rows = 0;
  std::vector<std::vector<T>> inputs;   // per layer: [R, rows, in]
  std::vector<std::vector<T>> linear;   // per layer: [R, rows, out] before norm
  std::vector<std::vector<T>> normed;   // hidden layers with batch norm: [R, rows, out]
  std::vector<std::vector<T>> mean, rstd;  // hidden layers: [R, out]
  std::vector<T> output;                // [R, rows, out] of the last layer
  NormMode mode = NormMode::train;
};

template <class T>
class BatchedMlp {
 public:
  BatchedMlp(MlpSpec spec, std::int64_t runs);

  std::int64_t runs() const { return runs_; }
  std::int64_t in() const { return spec_.dims.front(); }
  std::int64_t out() const { return spec_.dims.back(); }
  std::int64_t params_per_run() const { return params_per_run_; }
  std::int64_t stats_per_run() const { return stats_per_run_; }

  // torch.nn.Linear's default initialisation, U(-1/sqrt(in), 1/sqrt(in)) for weights and biases,
  // drawn per run from (seeds[r], tensor_base + layer); gamma 1, beta 0; running mean 0, var 1.
  void init(T* params, T* stats, const std::vector<std::uint64_t>& seeds, std::uint32_t tensor_base) const;

  void forward(Exec& exec, const T* params, T* stats, const T* x, std::int64_t rows, NormMode mode,
               MlpTape<T>& tape) const;
  // Accumulates parameter gradients into dparams; writes dx when not null.
  void backward(Exec& exec, const T* params, const MlpTape<T>& tape, const T* dy, T* dparams, T* dx) const;

 private:
  struct Layer {
    std::int64_t in, out;
    std::int64_t w, b, gamma, beta;  // offsets inside a run's parameter block (gamma < 0: none)
    std::int64_t running_mean, running_var;  // offsets inside a run's statistics block
    bool hidden;
  };
  MlpSpec spec_;
  std::int64_t runs_;
  std::vector<Layer> layers_;
  std::int64_t params_per_run_ = 0, stats_per_run_ = 0;
};

}  // namespace engram::ssl
