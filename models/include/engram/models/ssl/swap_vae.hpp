#pragma once
// Swap-VAE (Liu et al., "Drop, Swap, and Generate", NeurIPS 2021), trained as R runs in
// lockstep. The encoder maps a bin's spike counts to a content block c (deterministic) and the
// mean and log-variance of a style block s; two views of one brain state (neuron dropout, a
// neighbouring bin of the same trial) are encoded, their contents are swapped, and the decoder
// (softplus rates) reconstructs each view from (own content, own style) and from (other content,
// own style) under a Poisson likelihood; alpha weighs the style KL and beta the alignment
// 2 - 2 cos(c1, c2). With swap off, content 0 and beta 0 it is the plain beta-VAE baseline
// (every latent stochastic; its representation is the posterior mean).
//
//   engram::ssl::SwapVaeConfig cfg;  cfg.epochs = 200;
//   engram::ssl::ReachRuns runs(data, seeds, 0.2);
//   engram::ssl::SslRecord rec = engram::ssl::train_swap_vae(cfg, runs, backend, progress);
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/memory/buffer.hpp"
#include "engram/models/nn/training_runs.hpp"
#include "engram/models/ssl/batched_mlp.hpp"
#include "engram/models/ssl/model_state.hpp"
#include "engram/models/ssl/named_tensor.hpp"
#include "engram/models/ssl/reach_runs.hpp"
#include "engram/models/ssl/trainer_common.hpp"

namespace engram::ssl {

struct SwapVaeConfig {
  std::vector<std::int64_t> hidden = {128, 128};  // encoder widths; the decoder mirrors them
  std::int64_t content = 64, style = 64;
  bool swap = true;
  double alpha = 10.0;  // KL weight
  double beta = 1.0;    // content alignment weight
  bool batch_norm = true;
  // training
  std::int64_t epochs = 200, batch = 256;
  double lr = 5e-4, weight_decay = 0.0;
  std::int64_t max_offset = 5;    // temporal jitter: the second view is a bin at most this far away
  double max_dropout = 0.6, dropout_apply = 1.0;
};

// The [R, ...] model and one optimisation step; exposed for tests (gradient checks of the whole
// loss, bit identity alone vs batched). Encoder and decoder are two slices of one
// runs::BasicTrainingRuns (parameters, gradients, AdamW moments in backend memory); every
// activation lives in backend memory too, and only a step's sampled bin ids go up and its R loss
// sums come down.
template <class T>
class SwapVaeModel {
 public:
  SwapVaeModel(const SwapVaeConfig& cfg, const ReachRuns& runs, Backend& backend);
  ~SwapVaeModel();

  // Loss of every run at `step` (its views and noise are keyed by step) and, with gradients on,
  // the parameter gradients in weights().grads(). Returns [R][term] with terms total, recon,
  // recon_swap, kl, align.
  std::vector<std::vector<double>> loss(std::uint32_t step, bool gradients);
  // loss(step, true) then AdamW on every run, each with its own learning rate.
  std::vector<std::vector<double>> train_step(std::uint32_t step, const std::vector<double>& lr);

  // Eval-mode encoder over every bin of the recording, every run in one pass: per run, the
  // content block (or the posterior mean when content is 0) and the style mean, each [bins, dim].
  void represent(std::vector<std::vector<double>>& content, std::vector<std::vector<double>>& style);

  models::runs::BasicTrainingRuns<T>& weights() { return weights_; }
  // The encoder's and the decoder's slices of a run's parameter vector.
  std::vector<models::runs::Span> networks() const;
  std::int64_t content_dim() const { return cfg_.content; }
  const SwapVaeConfig& config() const { return cfg_; }
  const ReachRuns& runs() const { return runs_; }

  // Run r's parameters, running statistics and standardisation on the host; load_run replaces
  // the parameters and statistics (not the optimiser's moments).
  RunState save_run(std::int64_t r) const;
  void load_run(std::int64_t r, const RunState& state);

  // The encoder (its output: content, style mean, style log-variance) and every tensor of a run
  // by torch-style name (encoder.*, decoder.*), for a model of this config on `neurons` inputs.
  static MlpSpec encoder_spec(const SwapVaeConfig& cfg, std::int64_t neurons);
  static std::vector<NamedTensor> tensors(const SwapVaeConfig& cfg, std::int64_t neurons, Backend& backend);

 private:
  struct State;
  SwapVaeConfig cfg_;
  const ReachRuns& runs_;
  Backend& backend_;
  BatchedMlp<T> enc_, dec_;
  models::runs::BasicTrainingRuns<T> weights_;
  Buffer<T> stats_;  // running batch-norm statistics [R, stats_stride]
  std::int64_t stats_stride_;
  ReachOnDevice reach_;
  std::unique_ptr<State> state_;  // activations, tapes and gradients of a step, reused
};

SslRecord train_swap_vae(const SwapVaeConfig& cfg, const ReachRuns& runs, Backend& backend,
                         const std::function<void(std::int64_t done, std::int64_t total)>& progress);
// Trains `model` from its current parameters for its config's epochs; stops after the step at
// which keep_going (when given) returns false, with the record of the epochs finished.
SslRecord train_swap_vae(SwapVaeModel<float>& model,
                         const std::function<void(std::int64_t done, std::int64_t total)>& progress,
                         const std::function<bool()>& keep_going);

}  // namespace engram::ssl
