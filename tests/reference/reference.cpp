#include "reference/reference.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "engram/kernels/graph/gnp.hpp"

namespace engram::reference {

std::vector<NeuronId> kcap(const std::vector<FixedInput>& inputs, std::int64_t batch, NeuronId n,
                           std::uint32_t k) {
  if (static_cast<std::int64_t>(inputs.size()) != batch * n || k > n) {
    throw std::invalid_argument("reference::kcap: bad shape");
  }
  std::vector<NeuronId> out;
  out.reserve(static_cast<std::size_t>(batch) * k);
  for (std::int64_t b = 0; b < batch; ++b) {
    const FixedInput* row = inputs.data() + b * static_cast<std::int64_t>(n);
    std::vector<NeuronId> order(n);
    std::iota(order.begin(), order.end(), NeuronId{0});
    std::sort(order.begin(), order.end(), [row](NeuronId x, NeuronId y) {
      if (row[x] != row[y]) return row[x] > row[y];
      return x < y;
    });
    order.resize(k);
    std::sort(order.begin(), order.end());
    out.insert(out.end(), order.begin(), order.end());
  }
  return out;
}

std::vector<FixedInput> accumulate(const EdgeRows& rows, NeuronId n_source,
                                   const std::vector<NeuronId>& firing,
                                   std::uint32_t count_per_brain, std::int64_t batch,
                                   NeuronId n_target, const std::vector<std::uint32_t>& active) {
  std::vector<FixedInput> inputs(static_cast<std::size_t>(batch) * n_target, 0);
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::uint32_t fires = active.empty() ? count_per_brain : active[static_cast<std::size_t>(b)];
    for (std::uint32_t i = 0; i < fires; ++i) {
      const NeuronId s = firing[static_cast<std::size_t>(b) * count_per_brain + i];
      for (const Edge& e : rows[static_cast<std::size_t>(b) * n_source + s]) {
        inputs[static_cast<std::size_t>(b) * n_target + e.target] += to_fixed(e.weight);
      }
    }
  }
  return inputs;
}

void hebbian(EdgeRows& rows, NeuronId n_source, const std::vector<NeuronId>& firing,
             std::uint32_t count_per_brain, const std::vector<NeuronId>& winners, std::uint32_t k,
             const std::vector<float>& factor, const std::vector<std::uint32_t>& active) {
  const std::size_t batch = factor.size();
  for (std::size_t b = 0; b < batch; ++b) {
    const auto first = winners.begin() + static_cast<std::ptrdiff_t>(b * k);
    const std::uint32_t fires = active.empty() ? count_per_brain : active[b];
    for (std::uint32_t i = 0; i < fires; ++i) {
      const NeuronId s = firing[b * count_per_brain + i];
      for (Edge& e : rows[b * n_source + s]) {
        if (std::find(first, first + k, e.target) != first + k) e.weight *= factor[b];
      }
    }
  }
}

std::vector<NeuronId> gnp_row(std::uint64_t graph_seed, std::uint32_t fiber, NeuronId source,
                              NeuronId n_target, double p, NeuronId excluded_target) {
  graph::GnpRow row(graph_seed, fiber, source, n_target, p, excluded_target);
  std::vector<NeuronId> targets;
  for (NeuronId t; row.next(t);) targets.push_back(t);
  return targets;
}

EdgeRows build_rows(const std::vector<std::uint64_t>& graph_seed, const std::vector<double>& p,
                    std::uint32_t fiber, NeuronId n_source, NeuronId n_target, bool exclude_self,
                    const std::vector<std::uint32_t>& req_brain,
                    const std::vector<NeuronId>& req_source, float initial_weight) {
  EdgeRows rows(graph_seed.size() * n_source);
  for (std::size_t r = 0; r < req_brain.size(); ++r) {
    const std::uint32_t b = req_brain[r];
    const NeuronId s = req_source[r];
    auto& row = rows[static_cast<std::size_t>(b) * n_source + s];
    row.clear();
    for (NeuronId t : gnp_row(graph_seed[b], fiber, s, n_target, p[b],
                              exclude_self ? s : graph::kNoExclusion)) {
      row.push_back(Edge{t, initial_weight});
    }
  }
  return rows;
}

double binomial_pmf(std::uint64_t n, double p, std::uint64_t x) {
  if (x > n) return 0.0;
  if (p <= 0.0) return x == 0 ? 1.0 : 0.0;
  if (p >= 1.0) return x == n ? 1.0 : 0.0;
  const double nd = static_cast<double>(n), xd = static_cast<double>(x);
  const double log_choose = std::lgamma(nd + 1.0) - std::lgamma(xd + 1.0) - std::lgamma(nd - xd + 1.0);
  return std::exp(log_choose + xd * std::log(p) + (nd - xd) * std::log1p(-p));
}

namespace {
// P(a, x) by its series; valid for x < a + 1.
double gamma_p_series(double a, double x) {
  double sum = 1.0 / a, term = sum, ap = a;
  for (int i = 0; i < 100000; ++i) {
    ap += 1.0;
    term *= x / ap;
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * 1e-15) break;
  }
  return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}
// Q(a, x) by Lentz's continued fraction; valid for x >= a + 1.
double gamma_q_fraction(double a, double x) {
  constexpr double kTiny = 1e-300;
  double b = x + 1.0 - a, c = 1.0 / kTiny, d = 1.0 / b, h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < 1e-15) break;
  }
  return std::exp(-x + a * std::log(x) - std::lgamma(a)) * h;
}
}  // namespace

double gamma_q(double a, double x) {
  if (x <= 0.0) return 1.0;
  return x < a + 1.0 ? 1.0 - gamma_p_series(a, x) : gamma_q_fraction(a, x);
}

ChiSquare chi_square(const std::vector<double>& observed, const std::vector<double>& expected,
                     double min_expected) {
  if (observed.size() != expected.size()) throw std::invalid_argument("chi_square: sizes differ");
  std::vector<double> obs, expd;
  double o = 0.0, e = 0.0;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    o += observed[i];
    e += expected[i];
    if (e >= min_expected) {
      obs.push_back(o);
      expd.push_back(e);
      o = e = 0.0;
    }
  }
  if (e > 0.0 || o > 0.0) {
    if (expd.empty()) {
      obs.push_back(o);
      expd.push_back(e);
    } else {
      obs.back() += o;
      expd.back() += e;
    }
  }
  ChiSquare result;
  for (std::size_t i = 0; i < obs.size(); ++i) {
    if (expd[i] <= 0.0) {
      // Mass where none is expected: an outright failure.
      result.statistic = obs[i] > 0.0 ? INFINITY : result.statistic;
      continue;
    }
    const double diff = obs[i] - expd[i];
    result.statistic += diff * diff / expd[i];
  }
  result.dof = static_cast<int>(obs.size()) - 1;
  result.p_value = result.dof > 0 ? gamma_q(0.5 * result.dof, 0.5 * result.statistic)
                                  : (result.statistic == 0.0 ? 1.0 : 0.0);
  return result;
}

ChiSquare chi_square_binomial(const std::vector<std::uint64_t>& samples, std::uint64_t n, double p) {
  const double mean = static_cast<double>(n) * p;
  const double sd = std::sqrt(mean * (1.0 - p));
  const auto lo = static_cast<std::uint64_t>(std::max(0.0, std::floor(mean - 12.0 * sd - 2.0)));
  const auto hi = static_cast<std::uint64_t>(
      std::min(static_cast<double>(n), std::ceil(mean + 12.0 * sd + 2.0)));
  // Bin 0: x < lo; bins 1..: lo..hi; last: x > hi.
  const std::size_t bins = static_cast<std::size_t>(hi - lo) + 3;
  std::vector<double> observed(bins, 0.0), expected(bins, 0.0);
  for (std::uint64_t x : samples) {
    const std::size_t bin = x < lo ? 0 : x > hi ? bins - 1 : static_cast<std::size_t>(x - lo) + 1;
    observed[bin] += 1.0;
  }
  const double total = static_cast<double>(samples.size());
  double inside = 0.0;
  for (std::uint64_t x = lo; x <= hi; ++x) {
    const double mass = binomial_pmf(n, p, x);
    expected[static_cast<std::size_t>(x - lo) + 1] = mass * total;
    inside += mass;
  }
  // Below mean - 12 sd the mass is < 1e-30: summing the last 1000 values of the lower tail is
  // exact to double precision and keeps n = 1e7 cheap.
  double below = 0.0;
  for (std::uint64_t x = lo > 1000 ? lo - 1000 : 0; x < lo; ++x) below += binomial_pmf(n, p, x);
  expected[0] = below * total;
  expected[bins - 1] = std::max(0.0, 1.0 - inside - below) * total;
  return chi_square(observed, expected);
}

void lars_step(std::vector<double>& w, const std::vector<double>& g, std::vector<double>& buf,
               const std::vector<LarsTensor>& tensors, double lr, double momentum, double weight_decay, double eta) {
  for (const LarsTensor& t : tensors) {
    double local_lr = 1.0, decay = 0.0;
    if (t.adapt) {
      decay = weight_decay;
      double ww = 0.0, gg = 0.0;
      for (std::size_t i = t.offset; i < t.offset + t.count; ++i) {
        ww += w[i] * w[i];
        gg += g[i] * g[i];
      }
      const double wn = std::sqrt(ww), gn = std::sqrt(gg);
      if (wn > 0.0 && gn + weight_decay * wn > 0.0) local_lr = eta * wn / (gn + weight_decay * wn);
    }
    for (std::size_t i = t.offset; i < t.offset + t.count; ++i) {
      buf[i] = momentum * buf[i] + lr * local_lr * (g[i] + decay * w[i]);
      w[i] -= buf[i];
    }
  }
}

Moments moments(const std::vector<double>& samples) {
  Moments m;
  const double count = static_cast<double>(samples.size());
  for (double x : samples) m.mean += x;
  m.mean /= count;
  double m2 = 0.0, m3 = 0.0, m4 = 0.0;
  for (double x : samples) {
    const double d = x - m.mean, d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  m.variance = m2 / (count - 1.0);
  const double pop_var = m2 / count;
  m.skewness = (m3 / count) / std::pow(pop_var, 1.5);
  m.kurtosis = (m4 / count) / (pop_var * pop_var);
  return m;
}

}  // namespace engram::reference
