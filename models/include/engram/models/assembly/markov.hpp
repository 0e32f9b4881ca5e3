#pragma once
// NEMO's noisy choice learns a Markov chain (Dabagia, Papadimitriou & Vempala, "Coin-flipping in
// the brain: statistical learning with neuronal assemblies"). Area S holds one assembly per
// state (assembly i = neurons [i*k, (i+1)*k)). Training shows transitions x -> y drawn from the
// chain: S fires x's assembly and is then clamped to y's, so the recurrent synapses x -> y
// strengthen once per observed transition. Sampling: S fires the current state's assembly and
// takes one noisy k-cap step; the next state is the assembly of a uniformly drawn winner, so
// each outcome's probability is the share of the k winners its assembly took. Input noise and
// the random graph make that share a smooth function of the learned weights; beta sets how
// strongly a transition count moves it (beta ~ 0.012 with noise 2 matches a 0.8/0.2 chain
// learned from 200 transitions, with n = states * k, k = 100, p = 0.1).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/io/config_node.hpp"

namespace engram::assembly {

struct MarkovExperiment {
  std::vector<std::vector<double>> transitions;  // row-stochastic, states x states
  NeuronId n = 0;
  std::uint32_t k = 0;
  double p = 0.1;
  double beta = 0.01;
  double noise = 1.0;
  std::uint32_t train_transitions = 200;
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
};

// Throws engram::Error naming the field: a non-stochastic row, too few neurons for the states.
void validate(const MarkovExperiment& experiment);
MarkovExperiment parse_markov(const io::ConfigNode& root);
std::vector<MarkovResult> run_markov(const MarkovExperiment& experiment, Backend& backend);

}  // namespace engram::assembly
