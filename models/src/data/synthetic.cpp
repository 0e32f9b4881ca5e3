#include "engram/models/data/synthetic.hpp"

#include <cmath>
#include <numbers>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/data/purposes.hpp"

namespace engram::data {

namespace {

// Poisson by inversion of the cumulative sum (rates here are a few spikes per bin).
std::uint32_t poisson(RngStream& rng, double rate) {
  if (rate <= 0) return 0;
  if (rate > 60) {  // normal approximation; never reached by the default specs
    const double x = std::round(rate + std::sqrt(rate) * rng.normal());
    return x < 0 ? 0u : static_cast<std::uint32_t>(x);
  }
  const double u = rng.uniform();
  double p = std::exp(-rate), cdf = p;
  std::uint32_t k = 0;
  while (u > cdf && k < 1000) {
    ++k;
    p *= rate / k;
    cdf += p;
  }
  return k;
}

void require_positive(std::int64_t v, const char* field) {
  if (v <= 0) throw Error::bad_input(field, std::to_string(v), "must be > 0");
}

double softplus(double x) { return x > 30 ? x : std::log1p(std::exp(x)); }

}  // namespace

NeuralData angle_population(const AngleSpec& s, std::uint64_t seed) {
  require_positive(s.trials, "data.trials");
  require_positive(s.time, "data.time");
  require_positive(s.neurons, "data.neurons");
  require_positive(s.classes, "data.classes");
  const double two_pi = 2 * std::numbers::pi;
  std::vector<double> preferred(static_cast<std::size_t>(s.neurons)), base(preferred.size()), gain(preferred.size());
  for (std::int64_t n = 0; n < s.neurons; ++n) {
    RngStream rng({s.population_seed, 0, purpose::neural_data, 0, static_cast<std::uint32_t>(n)});
    preferred[n] = two_pi * rng.uniform();
    base[n] = s.baseline * (0.5 + rng.uniform());
    gain[n] = s.gain * (0.5 + rng.uniform());
  }
  NeuralData d;
  d.trials = s.trials;
  d.time = s.time;
  d.neurons = s.neurons;
  d.classes = s.classes;
  d.counts.resize(static_cast<std::size_t>(s.trials * s.time * s.neurons));
  d.labels.resize(static_cast<std::size_t>(s.trials));
  for (std::int64_t tr = 0; tr < s.trials; ++tr) {
    RngStream rng({seed, 1, purpose::neural_data, 0, static_cast<std::uint32_t>(tr)});
    const auto label = static_cast<std::int32_t>(rng.next_u32() % static_cast<std::uint32_t>(s.classes));
    const double within = 0.5 + s.sector_fill * (rng.uniform() - 0.5);
    const double theta = two_pi * (label + within) / static_cast<double>(s.classes);
    d.labels[tr] = label;
    for (std::int64_t n = 0; n < s.neurons; ++n) {
      const double rate = base[n] + gain[n] * std::exp(s.kappa * (std::cos(theta - preferred[n]) - 1));
      for (std::int64_t t = 0; t < s.time; ++t) {
        d.counts[static_cast<std::size_t>((tr * s.time + t) * s.neurons + n)] = static_cast<float>(poisson(rng, rate));
      }
    }
  }
  return d;
}

NeuralData gravity_bodies(const GravitySpec& s, std::uint64_t seed) {
  require_positive(s.trials, "data.trials");
  require_positive(s.time, "data.time");
  require_positive(s.neurons, "data.neurons");
  require_positive(s.bodies, "data.bodies");
  const std::int64_t B = s.bodies, state_dim = 4 * B;
  // Observation weights of each unit on the (position, velocity) state.
  std::vector<double> w(static_cast<std::size_t>(s.neurons * state_dim)), bias(static_cast<std::size_t>(s.neurons));
  for (std::int64_t n = 0; n < s.neurons; ++n) {
    RngStream rng({s.population_seed, 2, purpose::neural_data, 0, static_cast<std::uint32_t>(n)});
    for (std::int64_t j = 0; j < state_dim; ++j) w[n * state_dim + j] = rng.normal() / std::sqrt(static_cast<double>(state_dim));
    bias[n] = -0.5 + 0.5 * rng.normal();
  }
  NeuralData d;
  d.trials = s.trials;
  d.time = s.time;
  d.neurons = s.neurons;
  d.behaviour_dim = 2 * B;
  d.counts.resize(static_cast<std::size_t>(s.trials * s.time * s.neurons));
  d.behaviour.resize(static_cast<std::size_t>(s.trials * s.time * 2 * B));
  for (std::int64_t tr = 0; tr < s.trials; ++tr) {
    RngStream rng({seed, 3, purpose::neural_data, 0, static_cast<std::uint32_t>(tr)});
    std::vector<double> x(2 * B), v(2 * B), a(2 * B);
    for (auto& e : x) e = rng.normal();
    for (auto& e : v) e = 0.3 * rng.normal();
    // Zero total momentum (unit masses): the centre of mass stays put.
    for (int c = 0; c < 2; ++c) {
      double mean = 0;
      for (std::int64_t b = 0; b < B; ++b) mean += v[2 * b + c] / static_cast<double>(B);
      for (std::int64_t b = 0; b < B; ++b) v[2 * b + c] -= mean;
    }
    auto accel = [&] {
      for (auto& e : a) e = 0;
      for (std::int64_t i = 0; i < B; ++i) {
        for (std::int64_t j = 0; j < B; ++j) {
          if (i == j) continue;
          const double dx = x[2 * j] - x[2 * i], dy = x[2 * j + 1] - x[2 * i + 1];
          const double r2 = dx * dx + dy * dy + s.softening * s.softening;
          const double inv = 1.0 / (r2 * std::sqrt(r2));
          a[2 * i] += dx * inv;
          a[2 * i + 1] += dy * inv;
        }
      }
    };
    accel();
    const double h = s.dt / static_cast<double>(s.substeps);
    for (std::int64_t t = 0; t < s.time; ++t) {
      for (std::int64_t k = 0; k < s.substeps; ++k) {
        for (std::size_t i = 0; i < v.size(); ++i) v[i] += 0.5 * h * a[i];
        for (std::size_t i = 0; i < x.size(); ++i) x[i] += h * v[i];
        accel();
        for (std::size_t i = 0; i < v.size(); ++i) v[i] += 0.5 * h * a[i];
      }
      for (std::int64_t j = 0; j < 2 * B; ++j) d.behaviour[static_cast<std::size_t>((tr * s.time + t) * 2 * B + j)] = static_cast<float>(x[j]);
      for (std::int64_t n = 0; n < s.neurons; ++n) {
        double drive = bias[n];
        for (std::int64_t j = 0; j < 2 * B; ++j) drive += w[n * state_dim + j] * x[j] + w[n * state_dim + 2 * B + j] * v[j];
        d.counts[static_cast<std::size_t>((tr * s.time + t) * s.neurons + n)] = static_cast<float>(poisson(rng, softplus(drive)));
      }
    }
  }
  return d;
}

}  // namespace engram::data
