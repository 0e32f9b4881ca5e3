#include "engram/models/ssl/reach_data.hpp"

#include <cmath>
#include <numbers>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/data/npz.hpp"
#include "engram/models/ssl/ssl_random.hpp"

namespace engram::ssl {

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool integer_dtype(const std::string& dtype) { return dtype.size() >= 3 && (dtype[1] == 'i' || dtype[1] == 'u'); }

const data::NpyArray& need(const std::map<std::string, data::NpyArray>& arrays, const std::string& origin,
                           const std::string& name) {
  const auto it = arrays.find(name);
  if (it == arrays.end()) throw Error::bad_input(origin + ": " + name, "missing", "the file has no array '" + name + "'");
  return it->second;
}

void need_shape(const data::NpyArray& a, const std::string& origin, std::vector<std::int64_t> shape) {
  if (a.shape != shape) {
    throw Error::bad_input(origin + ": " + a.name, shape_text(a.shape), "must have shape " + shape_text(shape));
  }
}

void need_integer(const data::NpyArray& a, const std::string& origin) {
  if (!integer_dtype(a.dtype)) {
    throw Error::bad_input(origin + ": " + a.name, a.dtype, "must hold integers (numpy int or uint), not " + a.dtype);
  }
}

std::vector<std::int32_t> to_int32(const data::NpyArray& a, const std::string& origin) {
  std::vector<std::int32_t> out(a.values.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double v = a.values[i];
    if (!(v >= -2147483648.0 && v <= 2147483647.0)) {
      throw Error::bad_input(origin + ": " + a.name + "[" + std::to_string(i) + "]", to_text(v), "does not fit in int32");
    }
    out[i] = static_cast<std::int32_t>(v);
  }
  return out;
}

}  // namespace

double ReachData::angle(std::int64_t bin) const {
  return direction[static_cast<std::size_t>(bin)] * (2.0 * std::numbers::pi / kReachDirections);
}

void finish_reach_data(ReachData& d, const std::string& origin) {
  const std::size_t bins = static_cast<std::size_t>(d.bins);
  if (d.bins <= 0) throw Error::bad_input(origin + ": counts", shape_text({d.bins, d.neurons}), "needs at least one bin");
  if (d.neurons <= 0) {
    throw Error::bad_input(origin + ": counts", shape_text({d.bins, d.neurons}), "needs at least one neuron (0 found)");
  }
  if (d.counts.size() != bins * static_cast<std::size_t>(d.neurons) || d.trial.size() != bins || d.direction.size() != bins) {
    throw Error::bad_input(origin, shape_text({d.bins, d.neurons}), "counts, trial and direction disagree in length");
  }
  for (std::size_t i = 0; i < d.counts.size(); ++i) {
    const float c = d.counts[i];
    if (!(c >= 0) || !std::isfinite(c)) {
      const std::string at = "[" + std::to_string(i / static_cast<std::size_t>(d.neurons)) + ", " +
                             std::to_string(i % static_cast<std::size_t>(d.neurons)) + "]";
      throw Error::bad_input(origin + ": counts" + at, to_text(c), "spike counts must be finite and >= 0");
    }
  }
  d.trial_start.clear();
  for (std::size_t b = 0; b < bins; ++b) {
    const std::int32_t expected_first = b == 0 ? 0 : d.trial[b - 1];
    const std::int32_t t = d.trial[b];
    if (b == 0 ? t != 0 : (t != expected_first && t != expected_first + 1)) {
      throw Error::bad_input(origin + ": trial[" + std::to_string(b) + "]", std::to_string(t),
                             b == 0 ? "trial ids must start at 0"
                                    : "trial ids must be consecutive and in order (previous bin has " +
                                          std::to_string(expected_first) + ")");
    }
    if (b == 0 || t != d.trial[b - 1]) d.trial_start.push_back(static_cast<std::int64_t>(b));
    const std::int32_t dir = d.direction[b];
    if (dir < 0 || dir >= kReachDirections) {
      throw Error::bad_input(origin + ": direction[" + std::to_string(b) + "]", std::to_string(dir),
                             "must lie in [0, " + std::to_string(kReachDirections) + ")");
    }
    if (b > 0 && t == d.trial[b - 1] && dir != d.direction[b - 1]) {
      throw Error::bad_input(origin + ": direction[" + std::to_string(b) + "]", std::to_string(dir),
                             "must be constant within trial " + std::to_string(t));
    }
  }
  d.trials = static_cast<std::int64_t>(d.trial_start.size());
  d.trial_start.push_back(d.bins);
  if (d.time_bin.empty()) {
    d.time_bin.resize(bins);
    for (std::int64_t t = 0; t < d.trials; ++t) {
      for (std::int64_t b = d.trial_start[static_cast<std::size_t>(t)]; b < d.trial_start[static_cast<std::size_t>(t) + 1]; ++b) {
        d.time_bin[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(b - d.trial_start[static_cast<std::size_t>(t)]);
      }
    }
  }
  if (d.speed.empty()) d.speed.assign(bins, 0.0f);
}

ReachData load_reach_data(const std::string& path) {
  const auto arrays = data::read_npz(path);
  const std::string& origin = path;
  const data::NpyArray& counts = need(arrays, origin, "counts");
  if (counts.shape.size() != 2) throw Error::bad_input(origin + ": counts", shape_text(counts.shape), "must be 2-D [bins, neurons]");
  need_integer(counts, origin);
  ReachData d;
  d.bins = counts.shape[0];
  d.neurons = counts.shape[1];
  if (d.neurons == 0) throw Error::bad_input(origin + ": counts", shape_text(counts.shape), "needs at least one neuron (0 found)");
  d.counts.assign(counts.values.begin(), counts.values.end());
  for (const char* name : {"trial", "direction"}) {
    const data::NpyArray& a = need(arrays, origin, name);
    need_shape(a, origin, {d.bins});
    need_integer(a, origin);
  }
  d.trial = to_int32(arrays.at("trial"), origin);
  d.direction = to_int32(arrays.at("direction"), origin);
  if (const auto it = arrays.find("time_bin"); it != arrays.end()) {
    need_shape(it->second, origin, {d.bins});
    need_integer(it->second, origin);
    d.time_bin = to_int32(it->second, origin);
  }
  if (const auto it = arrays.find("velocity"); it != arrays.end()) {
    need_shape(it->second, origin, {d.bins, 2});
    d.speed.resize(static_cast<std::size_t>(d.bins));
    for (std::size_t b = 0; b < d.speed.size(); ++b) {
      const double vx = it->second.values[2 * b], vy = it->second.values[2 * b + 1];
      if (!std::isfinite(vx) || !std::isfinite(vy)) {
        throw Error::bad_input(origin + ": velocity[" + std::to_string(b) + "]", to_text(std::isfinite(vx) ? vy : vx),
                               "must be finite");
      }
      d.speed[b] = static_cast<float>(std::hypot(vx, vy));
    }
  }
  finish_reach_data(d, origin);
  return d;
}

ReachData synthetic_reach(const SyntheticReachSpec& spec, std::uint64_t seed) {
  ReachData d;
  d.neurons = spec.neurons;
  d.bins = spec.trials * spec.time;
  const std::size_t N = static_cast<std::size_t>(spec.neurons);
  // Neurons: preferred angle, baseline jitter, style weight (from the population seed).
  std::vector<double> preferred(N), base(N), style_weight(N);
  for (std::size_t n = 0; n < N; ++n) {
    RngStream rng(RngKey{spec.population_seed, 0, purpose::synthetic, 0, static_cast<std::uint32_t>(n)});
    preferred[n] = 2.0 * std::numbers::pi * rng.uniform();
    base[n] = std::log(spec.baseline) + 0.3 * rng.normal();
    style_weight[n] = rng.normal();
  }
  d.counts.reserve(static_cast<std::size_t>(d.bins) * N);
  for (std::int64_t t = 0; t < spec.trials; ++t) {
    RngStream trial_rng(RngKey{seed, 1, purpose::synthetic, static_cast<std::uint32_t>(t), 0});
    const std::int32_t dir = static_cast<std::int32_t>(trial_rng.next_u32() % kReachDirections);
    const double theta = dir * 2.0 * std::numbers::pi / kReachDirections;
    const double gain = 0.2 + 0.8 * trial_rng.uniform();
    for (std::int64_t b = 0; b < spec.time; ++b) {
      const double x = (static_cast<double>(b) - 0.5 * static_cast<double>(spec.time - 1)) / (0.3 * static_cast<double>(spec.time));
      const double style = gain * std::exp(-x * x);
      RngStream rng(RngKey{seed, 2, purpose::synthetic, static_cast<std::uint32_t>(t), static_cast<std::uint32_t>(b)});
      for (std::size_t n = 0; n < N; ++n) {
        const double rate = std::exp(base[n] + spec.tuning * (std::cos(theta - preferred[n]) - 1.0) +
                                     spec.style_gain * style_weight[n] * style);
        // Poisson by inversion (rates are a few spikes per bin at most).
        const double u = rng.uniform();
        double p = std::exp(-rate), cdf = p;
        std::int64_t k = 0;
        while (u > cdf && k < 1000) {
          ++k;
          p *= rate / static_cast<double>(k);
          cdf += p;
        }
        d.counts.push_back(static_cast<float>(k));
      }
      d.trial.push_back(static_cast<std::int32_t>(t));
      d.direction.push_back(dir);
      d.time_bin.push_back(static_cast<std::int32_t>(b));
      d.style.push_back(static_cast<float>(style));
      d.speed.push_back(static_cast<float>(10.0 * style));
    }
  }
  finish_reach_data(d, "synthetic reach data");
  return d;
}

}  // namespace engram::ssl
