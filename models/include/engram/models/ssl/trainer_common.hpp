#pragma once
// What the Swap-VAE and MYOW trainers share besides the engine's batched training path
// (models/nn/training_runs.hpp, batched_mlp.hpp): the record of a finished batch of runs
// (per-epoch curves, representations), the learning-rate schedule and the recording's arrays in
// backend memory for the augmentation kernel.
#include <cstdint>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/memory/buffer.hpp"
#include "engram/models/ssl/reach_runs.hpp"

namespace engram::ssl {

// Per-epoch means of one run's loss terms (names in SslRecord::curve_names).
struct SslRecord {
  std::string method;
  std::vector<std::string> curve_names;
  std::vector<std::vector<std::vector<double>>> curves;  // [run][epoch][term]
  std::vector<std::vector<double>> representation;       // [run] -> [bins, dim] in eval mode
  std::int64_t dim = 0;
  std::vector<std::vector<double>> style;                // Swap-VAE: [run] -> [bins, style dim]
  std::int64_t style_dim = 0;
};

// Learning-rate schedule shared by both trainers: linear warm-up, then cosine decay to 0 (the
// public MYOW code's schedule; warmup_steps 0 and decay false give a constant rate).
double scheduled_lr(double base, std::int64_t step, std::int64_t warmup_steps, std::int64_t total_steps, bool decay);

// What AugmentRows reads, uploaded once: the recording's counts, every run's standardisation
// and seed. A step's bin ids (sampled on the host) go up through augment().
class ReachOnDevice {
 public:
  ReachOnDevice(Backend& backend, const ReachRuns& runs);
  const Buffer<std::uint64_t>& seeds() const { return seeds_; }

  // A second view augmented with the first view's draws (its own bins, the same masks and noise).
  template <class T>
  struct SharedView {
    const std::vector<std::int32_t>* bins;
    Buffer<std::int32_t>* bins_on_device;
    Buffer<T>* out;
  };

  // out [R * rows_per_run, neurons] = AugmentRows of the given bins ([R * rows_per_run], host);
  // with `second`, its out from its bins under the same draws (one pass of the draws for both).
  template <class T>
  void augment(const std::vector<std::int32_t>& bins, Buffer<std::int32_t>& bins_on_device, std::int64_t rows_per_run,
               std::uint32_t step, std::uint32_t tag, double max_dropout, double apply, double noise, bool standardise,
               Buffer<T>& out, const SharedView<T>* second = nullptr);

 private:
  Backend* backend_;
  std::int64_t neurons_;
  Buffer<float> counts_, means_, inv_stds_;
  Buffer<std::uint64_t> seeds_;
};

}  // namespace engram::ssl
