#pragma once
// Synthetic neural recordings, so every training test runs offline. Every draw is Philox keyed
// by (seed, trial, ...): a trial is the same whatever else is generated.
//
// angle_population: each trial has an angle theta inside one of `classes` equal sectors (the
//   label); neuron n has a preferred angle, baseline and gain, and fires Poisson counts per bin
//   with rate baseline + gain * exp(kappa (cos(theta - preferred) - 1)) (von Mises tuning).
//   Neurons are drawn from the population's own seed, trials from the data seed, so two
//   recordings of one population share neurons but not trials.
// gravity_bodies: `bodies` point masses under Newtonian gravity in the plane (softened,
//   leapfrog), observed through `neurons` noisy units: rate = softplus(w_n . state + b_n) with
//   state = positions and velocities; behaviour = the positions [trials, time, 2 * bodies].
//
//   auto d = engram::data::angle_population({.trials = 400, .neurons = 100}, 1);
#include <cstdint>

#include "engram/models/data/neural_data.hpp"

namespace engram::data {

struct AngleSpec {
  std::int64_t trials = 400;
  std::int64_t time = 10;
  std::int64_t neurons = 100;
  std::int64_t classes = 8;
  std::uint64_t population_seed = 1;  // which neurons (tuning)
  double baseline = 0.2;        // mean spikes per bin without tuning drive
  double gain = 1.5;            // mean extra spikes per bin at the preferred angle
  double kappa = 2.0;           // tuning sharpness
  double sector_fill = 0.8;     // theta fills this central fraction of its sector
};
NeuralData angle_population(const AngleSpec& spec, std::uint64_t seed);

struct GravitySpec {
  std::int64_t trials = 64;
  std::int64_t time = 20;
  std::int64_t neurons = 50;
  std::int64_t bodies = 3;
  double dt = 0.05;
  std::int64_t substeps = 10;   // leapfrog steps per bin
  double softening = 0.1;
  std::uint64_t population_seed = 1;
};
NeuralData gravity_bodies(const GravitySpec& spec, std::uint64_t seed);

}  // namespace engram::data
