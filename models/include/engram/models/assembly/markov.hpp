#pragma once
// NEMO's noisy choice learns a Markov chain (Dabagia, Mitropolsky, Papadimitriou & Vempala,
// "Coin-flipping in the brain: statistical learning with neuronal assemblies", 2024). Area S
// holds one assembly per state (assembly i = neurons [i*k, (i+1)*k)). Training shows transitions
// x -> y: S fires x's assembly and is then clamped to y's, so the recurrent synapses x -> y
// strengthen by (1 + beta) once per shown transition. Sampling: S fires the current state's
// assembly and takes one noisy k-cap step; the next state is the assembly of a uniformly drawn
// winner, so each outcome's probability is the share of the k winners its assembly took.
//
// Two trainings. `calibrated` (the default): the rule of markov_calibration.hpp derives the noise,
// beta and how many transitions of each state to show from the chain, and each state x is shown
// N_x transitions y ~ P(x, .) in rounds (docs/markov.md). `walk`: the user gives beta and noise,
// and training walks the chain for train_transitions steps (each state is then shown in
// proportion to its stationary probability, so a single beta only fits chains whose rows are
// visited alike).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/models/assembly/markov_calibration.hpp"

namespace engram::assembly {

enum class MarkovTraining { calibrated, walk };

struct MarkovExperiment {
  std::vector<std::vector<double>> transitions;  // row-stochastic, states x states
  NeuronId n = 0;                                // calibrated: 0 means states * k (the only n it allows)
  std::uint32_t k = 0;
  double p = 0.1;
  MarkovTraining training = MarkovTraining::calibrated;
  double beta = 0.01;                            // walk only; calibrated derives it
  double noise = 0.0;                            // calibrated: 0 means default_markov_noise(k, p)
  std::uint32_t presentations = 800;             // calibrated: most transitions shown from one state
  std::uint32_t train_transitions = 200;         // walk only
  std::uint32_t sample_steps = 1000;
  std::uint64_t seed = 0;
  std::uint32_t brains = 1;
  std::uint32_t batch_size = 1;
  std::string backend = "auto";
};

struct MarkovResult {
  std::uint32_t brain = 0;
  std::vector<std::vector<std::uint32_t>> trained;  // transitions shown in training
  std::vector<std::vector<std::uint32_t>> sampled;  // transitions the area produced
  // Largest |sampled frequency - chain probability| over rows that were visited.
  double max_error = 0.0;
  // Total variation between each row's sampled frequencies and the chain's row (0 for a row
  // never visited), and its largest value.
  std::vector<double> row_tv;
  double max_row_tv = 0.0;
};

// The noise, beta and per-state presentations a run uses: the rule's for calibrated training;
// for a walk the user's beta and noise (presentations empty).
MarkovCalibration markov_settings(const MarkovExperiment& experiment);

// Throws engram::Error naming the field: a non-stochastic row, too few neurons for the states.
void validate(const MarkovExperiment& experiment);
MarkovExperiment parse_markov(const io::ConfigNode& root);
std::vector<MarkovResult> run_markov(const MarkovExperiment& experiment, Backend& backend);
// With the settings already derived (markov_settings(experiment)), to report them without
// computing the rule twice.
std::vector<MarkovResult> run_markov(const MarkovExperiment& experiment, const MarkovCalibration& settings,
                                     Backend& backend);

}  // namespace engram::assembly
