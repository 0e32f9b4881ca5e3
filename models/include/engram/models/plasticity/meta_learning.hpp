#pragma once
// Meta-learning a plasticity rule. The meta-loss of a rule theta on a problem is: reset the
// weights to `initial`, apply the rule example by example through `batch`, then the mean
// cross-entropy of the resulting network on that same batch (or on `score` when given).
//  - meta_gradient: exact d loss / d theta. The k-cap selections, firing states and the
//    misclassified/predicted decisions are piecewise constant in theta, so the weights after the
//    unrolled chain are a smooth function of theta within a piece; forward mode carries
//    d weights / d theta (P tangents, P = 28 for R = 1) through every update, and one reverse
//    pass of the final loss contracts them. Double precision throughout.
//  - es_gradient: antithetic evolution strategies; the population (2 x pairs brains, each its own
//    perturbed rule) is one PlasticBatch stepped by batched launches.
//  - natural_selection: one rule entry evolved by a population of values (keep the fitter half,
//    mutate it to refill).
//
//   MetaProblem problem{shape, random_weights(shape, 1, 0), batch, 0.1, RuleMode::additive, true};
//   MetaGradient g = meta_gradient(problem, rule.params);
//   nn::adamw_host_step(rule.params, g.gradient, adam_state, adam_config);
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/kernels/nn/adamw.hpp"
#include "engram/models/plasticity/plastic_network.hpp"

namespace engram::plastic {

struct MetaProblem {
  PlasticShape shape;
  PlasticWeights initial;
  Dataset batch;
  // Examples the final loss is scored on; empty: `batch` itself (the definition above). A
  // held-out score set rewards rules that generalise rather than fit the batch they just saw.
  Dataset score;
  double eta = 0.1;
  plasticity::RuleMode mode = plasticity::RuleMode::additive;
  bool only_misclassified = true;

  PlasticRule rule(const std::vector<double>& params) const;
  const Dataset& scored() const { return score.size() > 0 ? score : batch; }
  void check(const std::string& field = "meta") const;
};

struct MetaGradient {
  double loss = 0.0;
  std::vector<double> gradient;          // [layout.size()]
  // Every firing state and prediction of the unrolled chain and the final evaluation: equal
  // signatures mean the same piece of the piecewise-smooth meta-loss.
  std::vector<std::uint32_t> signature;
};

// Meta-loss only (signature filled when asked).
double meta_loss(const MetaProblem& problem, const std::vector<double>& params,
                 std::vector<std::uint32_t>* signature = nullptr);
MetaGradient meta_gradient(const MetaProblem& problem, const std::vector<double>& params);

struct EsOptions {
  std::uint32_t population = 512;  // brains; antithetic pairs = population / 2
  double sigma = 0.01;
  std::uint64_t seed = 1;
  std::uint32_t step = 0;          // keys this estimate's perturbations
};
// Meta-losses of a population of rules [population, P] on one problem, as one batch.
std::vector<double> population_losses(const MetaProblem& problem, const std::vector<double>& tables,
                                      std::uint32_t population, Backend& backend);
// sum_i (L(theta + sigma e_i) - L(theta - sigma e_i)) e_i / (2 sigma pairs).
std::vector<double> es_gradient(const MetaProblem& problem, const std::vector<double>& params, const EsOptions& options,
                                Backend& backend);

struct SelectionOptions {
  std::uint32_t index = 0;          // the rule entry evolved
  std::uint32_t population = 16;    // values per generation (even)
  std::uint32_t generations = 10;
  double mutation = 0.1;            // sd of the Gaussian mutation
  std::uint64_t seed = 1;
};
struct SelectionResult {
  double best_value = 0.0;
  std::vector<double> best_loss;    // per generation
};
// Fitness = -meta-loss on problem(generation); problems are drawn per generation by the caller.
SelectionResult natural_selection(const std::function<MetaProblem(std::uint32_t)>& problem,
                                  const std::vector<double>& params, const SelectionOptions& options, Backend& backend);

enum class MetaMethod { exact, es };

struct MetaTraining {
  MetaMethod method = MetaMethod::exact;
  std::uint32_t steps = 100;
  std::uint32_t problems_per_step = 1;  // gradients averaged over this many problems per step
  nn::AdamWConfig adam{0.01, 0.9, 0.999, 1e-8, 0.0};
  EsOptions es;
  // Per rule entry, 1 = learned; empty = all. Entries left out keep their value (their gradient
  // is zeroed before AdamW, so the moments stay zero and the entry never moves).
  std::vector<std::uint8_t> learn;
};

struct MetaStep {
  std::uint32_t step = 0;
  double loss = 0.0;
  double gradient_norm = 0.0;
};

// Adam on the rule parameters; problem(step * problems_per_step + i) gives step's i-th problem
// (fresh batch, fresh or reset brain). Returns the per-step log; `params` is updated in place.
std::vector<MetaStep> meta_train(const std::function<MetaProblem(std::uint32_t)>& problem, std::vector<double>& params,
                                 const MetaTraining& options, Backend* backend,
                                 const std::function<void(std::uint32_t)>& progress = {});

// R meta-learning runs (a sweep's jobs of one shape class) trained in lockstep: run r owns row r
// of `tables` [R, P], its own problems, learning rate and AdamW state; all take the same method,
// steps and problems per step. The R exact meta-gradients of a step are computed in a parallel
// loop over runs, each run's work single-threaded and in a fixed order, so run r's table and log
// are the same bits alone (meta_train is the R = 1 case) or in any batch, on any thread count.
// ES runs take the backend (one population batch each) one run after another.
struct MetaRun {
  std::function<MetaProblem(std::uint32_t)> problem;
  MetaTraining options;
};
std::vector<std::vector<MetaStep>> meta_train_runs(const std::vector<MetaRun>& runs, std::vector<double>& tables,
                                                   Backend* backend,
                                                   const std::function<void(std::uint32_t)>& progress = {});

}  // namespace engram::plastic
