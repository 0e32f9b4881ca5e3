#pragma once
// Random OT problems for the Sinkhorn tests: points uniform in the unit cube, rescaled so the
// largest squared distance between a source and a target point is 1 (so ε is in units of the
// cost scale), with uniform or random positive weights.
//
//   auto p = engram::testing::random_ot_problem<double>(rng, 30, 40, 3, 0.01, /*uniform=*/false);
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "engram/models/ot/sinkhorn.hpp"

namespace engram::testing {

template <class T>
std::vector<T> sq_euclidean_cost(const std::vector<T>& x, const std::vector<T>& y, int dim) {
  const std::size_t n = x.size() / static_cast<std::size_t>(dim), m = y.size() / static_cast<std::size_t>(dim);
  std::vector<T> c(n * m);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < m; ++j) {
      T s = 0;
      for (std::size_t k = 0; k < static_cast<std::size_t>(dim); ++k) {
        const T d = x[i * static_cast<std::size_t>(dim) + k] - y[j * static_cast<std::size_t>(dim) + k];
        s += d * d;
      }
      c[i * m + j] = s;
    }
  }
  return c;
}

template <class T>
ot::Problem<T> random_ot_problem(std::mt19937_64& rng, std::int64_t n, std::int64_t m, int dim, double eps,
                                 bool uniform) {
  std::uniform_real_distribution<double> unit(0.0, 1.0), weight(0.2, 1.0);
  ot::Problem<T> p;
  for (std::int64_t k = 0; k < n * dim; ++k) p.x.push_back(static_cast<T>(unit(rng)));
  for (std::int64_t k = 0; k < m * dim; ++k) p.y.push_back(static_cast<T>(unit(rng)));
  const std::vector<T> c = sq_euclidean_cost(p.x, p.y, dim);
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(*std::max_element(c.begin(), c.end()))));
  for (T& v : p.x) v *= scale;
  for (T& v : p.y) v *= scale;
  if (!uniform) {
    for (auto [w, count] : {std::pair{&p.a, n}, std::pair{&p.b, m}}) {
      double total = 0;
      std::vector<double> raw;
      for (std::int64_t k = 0; k < count; ++k) total += raw.emplace_back(weight(rng));
      for (double v : raw) w->push_back(static_cast<T>(v / total));
    }
  }
  p.n = n;
  p.m = m;
  p.eps = eps;
  return p;
}

}  // namespace engram::testing
