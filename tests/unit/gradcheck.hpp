#pragma once
// The finite-difference harness of the op gradient checks: a case lists its inputs, a forward
// and the analytic backward; check_against_central_differences compares the backward with
// central differences in double precision for L = sum(out * w), w random.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace engram::test {

using Vec = std::vector<double>;
using Inputs = std::vector<Vec>;

struct OpCase {
  std::string name;
  Inputs inputs;
  std::function<Vec(const Inputs&)> forward;
  std::function<Inputs(const Inputs&, const Vec& dout)> backward;
  double tolerance = 1e-6;
};

inline Vec random_vec(std::mt19937_64& rng, std::size_t n, double lo = -1.0, double hi = 1.0) {
  std::uniform_real_distribution<double> u(lo, hi);
  Vec v(n);
  for (double& x : v) x = u(rng);
  return v;
}

inline double relative_error(const Vec& a, const Vec& b) {
  double diff = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return std::sqrt(diff) / std::max({std::sqrt(na), std::sqrt(nb), 1e-30});
}

inline void check_against_central_differences(const OpCase& c) {
  SCOPED_TRACE(c.name);
  std::mt19937_64 rng(std::hash<std::string>{}(c.name));
  const Vec out = c.forward(c.inputs);
  const Vec w = random_vec(rng, out.size());
  auto loss = [&](const Inputs& x) {
    const Vec y = c.forward(x);
    double s = 0;
    for (std::size_t i = 0; i < y.size(); ++i) s += y[i] * w[i];
    return s;
  };
  const Inputs analytic = c.backward(c.inputs, w);
  ASSERT_EQ(analytic.size(), c.inputs.size());
  for (std::size_t t = 0; t < c.inputs.size(); ++t) {
    Inputs x = c.inputs;
    Vec numeric(x[t].size());
    const double h = 1e-5;
    for (std::size_t i = 0; i < x[t].size(); ++i) {
      const double keep = x[t][i];
      x[t][i] = keep + h;
      const double up = loss(x);
      x[t][i] = keep - h;
      const double down = loss(x);
      x[t][i] = keep;
      numeric[i] = (up - down) / (2 * h);
    }
    double norm = 0;
    for (double g : numeric) norm += g * g;
    EXPECT_GT(norm, 0.0) << "input " << t << " has no gradient: the check would be vacuous";
    EXPECT_LT(relative_error(analytic[t], numeric), c.tolerance) << "input " << t;
  }
}

}  // namespace engram::test
