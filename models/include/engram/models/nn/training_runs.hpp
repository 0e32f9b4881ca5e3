#pragma once
// TrainingRuns: R independent training runs of one network shape, trained in lockstep as one
// batch. Parameters, gradients and AdamW moments live in backend memory as [R, stride] arrays
// (stride = the parameter count rounded up to 16 values, so every run starts 64-byte aligned);
// each run has its own learning rate and seed. BasicTrainingRuns<T> is the store over scalar T:
// trainers use float (TrainingRuns); double serves the central-difference gradient checks on
// the CPU backend (the CUDA module registers the float functors only). Every update is a launch over all R runs
// (launch.hpp) whose items never mix runs, so a run's bits are the same alone or in a batch of
// any size, on any thread count. A trainer (models/transformer, models/ssl) owns one of these,
// lays its tensors out in [0, params) and runs its layers with the batched helpers of
// run_linear.hpp (one strided-batched GEMM per layer for all R).
//
//   engram::models::runs::TrainingRuns w(backend, /*runs=*/8, /*params=*/layout.total);
//   w.set_learning_rates(lrs);  w.set_seeds(seeds);   // one per run
//   w.upload_run(r, init_values);                     // initial parameters of run r
//   ... forward, backward: accumulate into w.grads() ...
//   w.clip_grad_norm({0, w.params()}, 1.0);
//   w.adamw_step({0, w.params()}, {lr_ignored, 0.9, 0.999, 1e-8, 0.0});
//   // or LARS: w.set_lars_tensors(tensors) once, then w.lars_step({0.9, 1e-6, 1e-3}) per step
//
// A new trainer's own layers: write ENGRAM_HD functors over [R, ...] items (one item never
// touches two runs; sums in a fixed order), run them with engram::launch(backend, n, f)
// (engine/backend/launch.hpp) and list them in models/src/<model>/<model>_kernels.inl with
// ENGRAM_DEVICE_KERNEL so the CUDA module has them. kernels/nn's BiasAdd, LayerNorm* and
// BiasGrad take rows_per_run / param_stride for batched runs; RunDropout* key masks by run seed.
// The separable transformer (models/src/transformer) is the worked example.
#include <cstdint>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/memory/buffer.hpp"
#include "engram/kernels/nn/adamw.hpp"
#include "engram/kernels/nn/lars.hpp"

namespace engram::models::runs {

// Values [offset, offset + count) of every run's parameter vector.
struct Span {
  std::int64_t offset = 0, count = 0;
};

// One parameter tensor of a run's vector for LARS: adapt = false for biases and batch-norm
// parameters (no trust ratio, no weight decay), as BYOL and MYOW train.
struct LarsTensor {
  std::int64_t offset = 0, count = 0;
  bool adapt = true;
};

// Rounds a per-run size up to whole 64-byte lines of floats.
inline std::int64_t padded(std::int64_t count) { return (count + 15) / 16 * 16; }

template <class T>
class BasicTrainingRuns {
 public:
  BasicTrainingRuns(Backend& backend, std::int64_t runs, std::int64_t params);

  Backend& backend() const { return *backend_; }
  std::int64_t runs() const { return runs_; }
  std::int64_t params() const { return params_; }
  std::int64_t stride() const { return stride_; }
  T* values() { return values_.data(); }
  const T* values() const { return values_.data(); }
  T* grads() { return grads_.data(); }
  const T* grads() const { return grads_.data(); }
  const std::uint64_t* seeds() const { return seeds_.data(); }
  const std::vector<std::uint64_t>& host_seeds() const { return host_seeds_; }

  void set_learning_rates(const std::vector<double>& lr);  // one per run, each > 0
  void set_seeds(const std::vector<std::uint64_t>& seeds);  // one per run
  void upload_run(std::int64_t run, const std::vector<T>& values);  // params() values
  std::vector<T> run_values(std::int64_t run) const;
  std::vector<T> run_grads(std::int64_t run) const;

  void zero_grads() { grads_.zero(); }
  // Per run: when the L2 norm of its gradients in `span` exceeds max_norm, scale them by
  // max_norm / (norm + 1e-6) (torch.nn.utils.clip_grad_norm_). Sums in double, fixed order.
  void clip_grad_norm(Span span, double max_norm);
  // One AdamW step of every run over `span`, each with its own learning rate (config.lr is not
  // used). The step count is shared: runs of a batch step together.
  void adamw_step(Span span, const nn::AdamWConfig& config);
  // LARS instead of AdamW (kernels/nn/lars.hpp): the tensors it steps, disjoint, inside
  // [0, params); values outside every tensor stay. Then one lars_step per optimisation step, each
  // run with its own learning rate. Its momentum buffer is AdamW's first moment (a trainer uses
  // one optimiser), so reset_optimizer and resize clear it; resize also forgets the tensors.
  void set_lars_tensors(const std::vector<LarsTensor>& tensors);
  void lars_step(const nn::LarsConfig& config);
  // Zeroes the moments and the step count (a new training phase, e.g. transfer).
  void reset_optimizer();

  // Grows the parameter count, keeping [0, keep) of every run (transfer to a new population).
  void resize(std::int64_t params, std::int64_t keep);

 private:
  Backend* backend_;
  std::int64_t runs_, params_, stride_;
  Buffer<T> values_, grads_, m_, v_;
  Buffer<double> lr_, partial_norms_, norms_;
  Buffer<std::int64_t> lars_offsets_, lars_counts_;
  Buffer<std::uint8_t> lars_adapt_;
  Buffer<std::int32_t> lars_tensor_of_;
  Buffer<double> lars_rates_;
  std::int64_t lars_tensors_ = 0;
  Buffer<std::uint64_t> seeds_;
  std::vector<std::uint64_t> host_seeds_;
  std::int64_t step_ = 0;
};

using TrainingRuns = BasicTrainingRuns<float>;

}  // namespace engram::models::runs
