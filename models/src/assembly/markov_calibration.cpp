#include "engram/models/assembly/markov_calibration.hpp"

#include <algorithm>
#include <cmath>

#include "engram/engine/error.hpp"

namespace engram::assembly {

namespace {

// Largest gain the rule tries: W ratios up to e^8 ~ 3000 already give a cap all to one assembly,
// so a row with a 0 or 1 gets the closest share the model reaches.
constexpr double kMaxGain = 8.0;
// The gain's resolution: far finer than the sampling noise of any run (a gain error of 1e-4 moves
// a share by ~3e-5).
constexpr double kGainStep = 1e-4;

// Binomial(k, p) probabilities over the in-degrees that matter (terms below 1e-14 dropped).
struct InDegrees {
  std::vector<double> degree, probability;
};

InDegrees in_degrees(std::uint32_t k, double p) {
  InDegrees d;
  for (std::uint32_t i = 0; i <= k; ++i) {
    const double log_pmf = std::lgamma(k + 1.0) - std::lgamma(i + 1.0) - std::lgamma(k - i + 1.0) +
                           i * std::log(p) + (k - i) * std::log1p(-p);
    const double pmf = std::exp(log_pmf);
    if (pmf < 1e-14) continue;
    d.degree.push_back(i);
    d.probability.push_back(pmf);
  }
  return d;
}

double normal_tail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

double share_above(double threshold, double weight, const InDegrees& d, double noise) {
  double share = 0;
  for (std::size_t i = 0; i < d.degree.size(); ++i) {
    share += d.probability[i] * normal_tail((threshold - weight * d.degree[i]) / noise);
  }
  return share;
}

std::vector<double> share_of(const std::vector<double>& weights, const InDegrees& d, double noise) {
  // The cap's threshold: where the assemblies' shares add up to one assembly's worth of winners.
  double low = -10.0 * noise, high = 10.0 * noise;
  for (double w : weights) high = std::max(high, w * d.degree.back() + 10.0 * noise);
  for (int i = 0; i < 100; ++i) {  // fixed count: the same bits on every run
    const double middle = 0.5 * (low + high);
    double total = 0;
    for (double w : weights) total += share_above(middle, w, d, noise);
    (total > 1.0 ? low : high) = middle;
  }
  std::vector<double> share;
  for (double w : weights) share.push_back(share_above(0.5 * (low + high), w, d, noise));
  return share;
}

double row_tv(const std::vector<double>& row, double gain, const InDegrees& d, double noise) {
  std::vector<double> weights;
  for (double probability : row) weights.push_back(std::exp(gain * probability));
  const std::vector<double> share = share_of(weights, d, noise);
  double tv = 0;
  for (std::size_t y = 0; y < row.size(); ++y) tv += std::fabs(share[y] - row[y]);
  return 0.5 * tv;
}

// Improvements below this do not move the gain: a uniform row fits at every gain (all weights
// stay equal), and should get the smallest, 0, i.e. no training.
constexpr double kTvResolution = 1e-9;

// The gain whose share is closest to the row: a grid, then golden-section search around its best.
double best_gain(const std::vector<double>& row, const InDegrees& d, double noise) {
  const double step = 0.05;
  double best = 0, best_tv = row_tv(row, 0, d, noise);
  for (double g = step; g <= kMaxGain + 1e-9; g += step) {
    const double tv = row_tv(row, g, d, noise);
    if (tv < best_tv - kTvResolution) best = g, best_tv = tv;
  }
  double a = std::max(0.0, best - step), b = std::min(kMaxGain, best + step);
  const double golden = 0.5 * (std::sqrt(5.0) - 1.0);
  for (int i = 0; i < 40; ++i) {
    const double left = b - golden * (b - a), right = a + golden * (b - a);
    if (row_tv(row, left, d, noise) < row_tv(row, right, d, noise)) {
      b = right;
    } else {
      a = left;
    }
  }
  const double refined = 0.5 * (a + b);
  return row_tv(row, refined, d, noise) < best_tv - kTvResolution ? refined : best;
}

}  // namespace

double default_markov_noise(std::uint32_t k, double p) { return std::sqrt(k * p * (1.0 - p)); }

std::vector<double> markov_share(const std::vector<double>& weights, std::uint32_t k, double p, double noise) {
  return share_of(weights, in_degrees(k, p), noise);
}

MarkovCalibration calibrate_markov(const std::vector<std::vector<double>>& chain, std::uint32_t k, double p,
                                   double noise, std::uint32_t most_presentations) {
  if (!(noise > 0.0) || !std::isfinite(noise)) {
    throw Error::bad_input("noise", to_text(noise), "the calibration needs a finite noise > 0");
  }
  if (most_presentations == 0) throw Error::bad_input("presentations", "0", "must be at least 1");
  if (k == 0 || !(p > 0.0 && p < 1.0)) throw Error::bad_input("p", to_text(p), "must be in (0, 1) with k >= 1");
  const InDegrees d = in_degrees(k, p);
  MarkovCalibration c;
  c.noise = noise;
  for (const auto& row : chain) {
    // Rounded so that last-bit differences of libm (exp, erfc, lgamma) between machines cannot
    // move the settings: the run stays the same bits on every x86-64 machine (README).
    c.gain.push_back(std::round(best_gain(row, d, noise) / kGainStep) * kGainStep);
    c.model_tv.push_back(std::round(row_tv(row, c.gain.back(), d, noise) * 1e6) / 1e6);
  }
  const double largest = *std::max_element(c.gain.begin(), c.gain.end());
  const double log_rate = largest / most_presentations;  // ln(1 + beta)
  c.beta = std::expm1(log_rate);
  for (double g : c.gain) {
    c.presentations.push_back(log_rate > 0 ? static_cast<std::uint32_t>(std::lround(g / log_rate)) : 0u);
  }
  return c;
}

}  // namespace engram::assembly
