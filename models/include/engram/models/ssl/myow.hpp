#pragma once
// MYOW (Azabou et al., "Mine Your Own vieW", 2021), trained as R runs in lockstep. BYOL's
// online encoder f, projector g and predictor q learn to predict, from one augmented view of a
// brain state (neuron dropout, a neighbouring bin of the same trial, noise), the target
// network's projection of the other view (symmetric, normalised-MSE loss); the target network
// is an exponential moving average of the online one (momentum rising from ema_base to 1 on a
// cosine). MYOW adds mined views: for a batch of bins, the k nearest neighbours (cosine) in the
// target representation of a pool of other trials' bins, one picked at random; a second
// projector/predictor pair, cascaded after the first projector, predicts the mined view's
// target projection. The mined loss weight is 0 for mining_warmup_epochs, then ramps linearly to
// mining_weight by mining_rampup_epochs. With mining off it is the BYOL baseline.
//
//   engram::ssl::MyowConfig cfg;  cfg.epochs = 200;
//   engram::ssl::SslRecord rec = engram::ssl::train_myow(cfg, runs, backend, progress);
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

struct MyowConfig {
  std::vector<std::int64_t> hidden = {128, 128, 128};
  std::int64_t representation = 128;
  std::int64_t projection = 32, projection_hidden = 256;
  std::int64_t mined_projection = 16, mined_hidden = 64;
  bool mining = true;
  std::int64_t miner_k = 3;
  double mining_weight = 0.1;
  std::int64_t mining_warmup_epochs = 10, mining_rampup_epochs = 110;
  double ema_base = 0.9;
  // Both directions (online(view 1) -> target(view 2) and back, each weighted 1/2) or, as the
  // public code's MYOWTrainer (BYOL's symmetric_loss left False), online(view 1) -> target(view 2) only.
  bool symmetric_loss = true;
  // training
  std::int64_t epochs = 200, batch = 256, pool = 512;
  // AdamW, or LARS as the public code trains (lr 0.8, momentum 0.9, eta 1e-3; biases and
  // batch-norm parameters without trust ratio or weight decay). momentum and lars_eta are LARS's.
  bool lars = false;
  double lr = 1e-3, weight_decay = 1e-6, momentum = 0.9, lars_eta = 1e-3;
  std::int64_t warmup_epochs = 10;
  std::int64_t max_offset = 4;
  // The partner's least offset: 1 pairs a bin with another bin of its trial; 0 lets it pair with
  // itself, as the public code's pair set (|dt| <= max_offset, dt = 0 included).
  std::int64_t min_offset = 1;
  double max_dropout = 0.8, dropout_apply = 0.9, noise = 0.1;
  // The public code's structured_transform: the two views of a pair share their dropout mask and
  // noise, so they differ only by the temporal offset. false draws each view's own.
  bool shared_augmentation = true;
};

// The [R, ...] model and one optimisation step; exposed for tests. The five online networks
// (encoder, projector, mined projector, predictor, mined predictor) are slices of one
// runs::BasicTrainingRuns; the target network is a [R, stride] copy of the first three slices,
// moved by one EMA launch per step. Activations, tapes and gradients live in backend memory.
template <class T>
class MyowModel {
 public:
  MyowModel(const MyowConfig& cfg, const ReachRuns& runs, Backend& backend);
  ~MyowModel();

  // Loss of every run at `step` with mined weight `mined_weight`; with gradients, the online
  // networks' gradients in weights().grads(). Returns [R][term]: total, byol, mined, mined_weight.
  std::vector<std::vector<double>> loss(std::uint32_t step, double mined_weight, bool gradients);
  // loss(...) then AdamW or LARS on the online networks and the EMA update of the target.
  std::vector<std::vector<double>> train_step(std::uint32_t step, double mined_weight, double momentum,
                                              const std::vector<double>& lr);
  // Eval-mode online encoder over every bin (each run's standardisation), every run in one
  // pass: per run [bins, representation].
  std::vector<std::vector<double>> represent();

  models::runs::BasicTrainingRuns<T>& weights() { return weights_; }
  // The online networks' slices of a run's parameter vector.
  std::vector<models::runs::Span> networks() const;
  const MyowConfig& config() const { return cfg_; }
  const ReachRuns& runs() const { return runs_; }

  // Run r's online and target parameters, running statistics and standardisation on the host;
  // load_run replaces parameters, target and statistics (not the optimiser's moments).
  RunState save_run(std::int64_t r) const;
  void load_run(std::int64_t r, const RunState& state);

  // The online encoder (its output is the representation) and every tensor of a run by
  // torch-style name (encoder.*, projector.*, mined_projector.*, predictor.*, mined_predictor.*,
  // and the target's target_encoder.*, target_projector.*, target_mined_projector.*).
  static MlpSpec encoder_spec(const MyowConfig& cfg, std::int64_t neurons);
  static std::vector<NamedTensor> tensors(const MyowConfig& cfg, std::int64_t neurons, Backend& backend);

 private:
  struct State;
  MyowConfig cfg_;
  const ReachRuns& runs_;
  Backend& backend_;
  BatchedMlp<T> enc_, proj_, proj_m_, pred_, pred_m_;
  models::runs::BasicTrainingRuns<T> weights_;
  Buffer<T> target_;  // [R, stride]: the target encoder, projector and mined projector
  Buffer<T> stats_;   // running batch-norm statistics of the online networks [R, stats_stride]
  std::int64_t stats_stride_;
  ReachOnDevice reach_;
  std::unique_ptr<State> state_;
};

SslRecord train_myow(const MyowConfig& cfg, const ReachRuns& runs, Backend& backend,
                     const std::function<void(std::int64_t done, std::int64_t total)>& progress);
// Trains `model` from its current parameters for its config's epochs; stops after the step at
// which keep_going (when given) returns false, with the record of the epochs finished.
SslRecord train_myow(MyowModel<float>& model, const std::function<void(std::int64_t done, std::int64_t total)>& progress,
                     const std::function<bool()>& keep_going);

}  // namespace engram::ssl
