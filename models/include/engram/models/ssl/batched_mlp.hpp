#pragma once
// R independent runs of one multilayer perceptron, trained in lockstep on the engine's batched
// training path (models/nn/training_runs.hpp): its parameters are a slice [param_offset,
// param_offset + params_per_run) of every run's vector in a runs::BasicTrainingRuns, its running
// batch-norm statistics a slice of a [R, stats_stride] array, and its activations and tape
// [R, rows, ...] arrays, all in backend memory. Each linear layer is one strided-batched GEMM for
// all R runs (run_linear.hpp); batch norm and ReLU are one fused launch (ssl_kernels.inl). Hidden layers
// are Linear -> BatchNorm (optional) -> ReLU; the last layer is Linear only (MYOW's MLP and
// MLP3, Swap-VAE's encoder and decoder).
//
// A run's numbers depend only on its own slices (its seed, its rows): the same bits alone or in
// a batch of any R, on any thread count.
//
//   engram::ssl::BatchedMlp<float> enc(backend, {{174, 128, 128}, true}, runs, /*param_offset=*/0, /*stats_offset=*/0);
//   runs::TrainingRuns w(backend, runs, enc.param_end());          // other networks may follow
//   Buffer<float> stats(backend, runs * enc.stats_end());
//   enc.init_run(host_params, host_stats, seed, /*tensor_base=*/0);  // per run, then upload
//   engram::ssl::MlpTape<float> tape;
//   const engram::ssl::MlpWeights<float> at{w.values(), w.grads(), w.stride(), stats.data(), enc.stats_end()};
//   enc.forward(at, x, rows, engram::ssl::NormMode::train, tape);
//   enc.backward(at, tape, dy, dx);   // gradients accumulate into w.grads()
#include <cstdint>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/memory/buffer.hpp"
#include "engram/models/nn/training_runs.hpp"
#include "engram/models/ssl/named_tensor.hpp"

namespace engram::ssl {

struct MlpSpec {
  std::vector<std::int64_t> dims;  // input, hidden..., output
  bool batch_norm = true;
};

// train: batch statistics, running statistics move; batch: batch statistics, running statistics
// untouched (BYOL's target network); eval: running statistics.
enum class NormMode { train, batch, eval };

// Where a network's runs keep their state: parameter vectors [R, param_stride] (a
// BasicTrainingRuns' values, or MYOW's target copy), their gradients (null for a network that is
// not trained), and running statistics [R, stats_stride] (null when they stay untouched).
template <class T>
struct MlpWeights {
  const T* params;
  T* grads;
  std::int64_t param_stride;
  T* stats;
  std::int64_t stats_stride;
};

// What backward needs from forward, in backend memory; reused across steps (grown on demand).
template <class T>
struct MlpTape {
  std::int64_t rows = 0;
  NormMode mode = NormMode::train;
  const T* input = nullptr;                  // the caller's [R, rows, in]; must outlive backward
  std::vector<Buffer<T>> hidden;             // per layer > 0: its input, the ReLU output of the layer before
  std::vector<Buffer<T>> linear;             // per layer: [R, rows, out] before norm
  std::vector<Buffer<T>> normed;             // eval mode, hidden layers with batch norm: [R, rows, out]
  std::vector<Buffer<T>> mean, rstd;         // hidden layers with batch norm: [R, out]
  Buffer<T> grad, dpre, dlin;                // backward scratch
  const T* output() const { return linear.back().data(); }  // [R, rows, out] of the last layer
};

template <class T>
class BatchedMlp {
 public:
  BatchedMlp(Backend& backend, MlpSpec spec, std::int64_t runs, std::int64_t param_offset, std::int64_t stats_offset);

  std::int64_t runs() const { return runs_; }
  std::int64_t in() const { return spec_.dims.front(); }
  std::int64_t out() const { return spec_.dims.back(); }
  std::int64_t param_offset() const { return param_offset_; }
  std::int64_t param_end() const { return param_offset_ + params_per_run_; }
  std::int64_t stats_end() const { return stats_offset_ + stats_per_run_; }

  // torch.nn.Linear's default initialisation, U(-1/sqrt(in), 1/sqrt(in)) for weights and biases,
  // drawn from (seed, tensor_base + layer); gamma 1, beta 0; running mean 0, var 1. Writes this
  // network's slice of one run's host vectors.
  void init_run(std::vector<T>& params, std::vector<T>& stats, std::uint64_t seed, std::uint32_t tensor_base) const;

  // Its tensors for LARS: weights adapt; biases, batch-norm scales and shifts do not.
  std::vector<models::runs::LarsTensor> lars_tensors() const;
  // This network's tensors under torch nn.Sequential names (`prefix`.0.weight, ...): parameters in
  // `params_store` (MYOW's target copy shares the online offsets), running statistics in
  // StateStore::stats unless with_stats is false (a network that never updates them).
  void name_tensors(const std::string& prefix, StateStore params_store, bool with_stats,
                    std::vector<NamedTensor>& out) const;

  void forward(const MlpWeights<T>& w, const T* x, std::int64_t rows, NormMode mode, MlpTape<T>& tape) const;
  // Accumulates parameter gradients into w.grads; writes dx ([R, rows, in]) when not null.
  // dy may alias nothing in the tape.
  void backward(const MlpWeights<T>& w, MlpTape<T>& tape, const T* dy, T* dx) const;

 private:
  struct Layer {
    std::int64_t in, out;
    std::int64_t w, b, gamma, beta;          // offsets inside a run's parameter vector (gamma < 0: none)
    std::int64_t running_mean, running_var;  // offsets inside a run's statistics vector
    bool hidden;
  };
  Backend* backend_;
  MlpSpec spec_;
  std::int64_t runs_, param_offset_, stats_offset_;
  std::vector<Layer> layers_;
  std::int64_t params_per_run_ = 0, stats_per_run_ = 0;
};

}  // namespace engram::ssl
