// Gradient checks (central differences, double) for the ops of the self-supervised models:
// reparameterisation, KL, Poisson and Gaussian reconstruction, the BYOL loss, the EMA update and
// the mining step with its selection held fixed; and the mining selection against a sort.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "engram/kernels/nn/byol.hpp"
#include "engram/kernels/nn/mining.hpp"
#include "engram/kernels/nn/vae.hpp"
#include "unit/gradcheck.hpp"

namespace {

using engram::test::Inputs;
using engram::test::OpCase;
using engram::test::random_vec;
using engram::test::Vec;

template <class F>
void each(std::int64_t n, const F& f) {
  for (std::int64_t i = 0; i < n; ++i) f(i);
}

// The mining path as the trainer runs it: unit rows, their products (plain loops here, the
// backend's GEMM in the trainer), then the selection.
void mine(const Vec& queries, const Vec& pool, std::int32_t* selected, std::int64_t dim, std::int64_t pool_rows,
          std::int64_t k, const engram::nn::MiningKey& key, bool reverse = false) {
  const std::int64_t n = static_cast<std::int64_t>(queries.size()) / dim;
  Vec unit_q(queries.size()), unit_p(pool.size()), cosines(static_cast<std::size_t>(n * pool_rows), 0.0);
  each(n, engram::nn::NormalizeRows<double>{queries.data(), unit_q.data(), dim});
  each(pool_rows, engram::nn::NormalizeRows<double>{pool.data(), unit_p.data(), dim});
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t p = 0; p < pool_rows; ++p) {
      for (std::int64_t d = 0; d < dim; ++d) cosines[static_cast<std::size_t>(i * pool_rows + p)] += unit_q[i * dim + d] * unit_p[p * dim + d];
    }
  }
  const engram::nn::SelectNearest<double> select{cosines.data(), selected, pool_rows, k, key};
  for (std::int64_t i = 0; i < n; ++i) select(reverse ? n - 1 - i : i);
}

constexpr std::int64_t kRows = 5, kDim = 4;
constexpr std::int64_t kSize = kRows * kDim;

std::vector<OpCase> ssl_cases() {
  std::mt19937_64 rng(20261201);
  std::vector<OpCase> cases;
  const Vec eps = random_vec(rng, kSize, -2, 2);
  cases.push_back({"reparameterize", {random_vec(rng, kSize), random_vec(rng, kSize, -2, 1)},
                   [eps](const Inputs& x) {
                     Vec z(kSize);
                     each(kSize, engram::nn::Reparameterize<double>{x[0].data(), x[1].data(), eps.data(), z.data()});
                     return z;
                   },
                   [eps](const Inputs& x, const Vec& dz) {
                     Inputs g{Vec(kSize, 0.0), Vec(kSize, 0.0)};
                     each(kSize, engram::nn::ReparameterizeBackward<double>{x[1].data(), eps.data(), dz.data(),
                                                                            g[0].data(), g[1].data()});
                     return g;
                   }});
  cases.push_back({"gaussian_kl", {random_vec(rng, kSize), random_vec(rng, kSize, -2, 1)},
                   [](const Inputs& x) {
                     Vec kl(kRows);
                     each(kRows, engram::nn::GaussianKl<double>{x[0].data(), x[1].data(), kl.data(), nullptr, nullptr,
                                                                kDim, 0.0});
                     return kl;
                   },
                   [](const Inputs& x, const Vec& dkl) {
                     // The functor scales every row by one factor: check row r with dkl[r] by
                     // running it per row.
                     Inputs g{Vec(kSize, 0.0), Vec(kSize, 0.0)};
                     Vec kl(kRows);
                     for (std::int64_t r = 0; r < kRows; ++r) {
                       engram::nn::GaussianKl<double>{x[0].data(), x[1].data(), kl.data(), g[0].data(), g[1].data(),
                                                      kDim, dkl[static_cast<std::size_t>(r)]}(r);
                     }
                     return g;
                   }});
  {
    Vec counts(kSize);
    std::poisson_distribution<int> p(1.5);
    for (double& c : counts) c = p(rng);
    cases.push_back({"poisson_nll_rate", {random_vec(rng, kSize, 0.2, 3.0)},
                     [counts](const Inputs& x) {
                       Vec loss(kSize);
                       each(kSize, engram::nn::PoissonNllRate<double>{x[0].data(), counts.data(), loss.data(), nullptr,
                                                                      0.0, 1e-8});
                       return Vec{std::accumulate(loss.begin(), loss.end(), 0.0) / kSize};
                     },
                     [counts](const Inputs& x, const Vec& dout) {
                       Vec loss(kSize);
                       Inputs g{Vec(kSize)};
                       each(kSize, engram::nn::PoissonNllRate<double>{x[0].data(), counts.data(), loss.data(),
                                                                      g[0].data(), dout[0] / kSize, 1e-8});
                       return g;
                     }});
  }
  {
    const Vec target = random_vec(rng, kSize, -2, 2);
    cases.push_back({"gaussian_nll", {random_vec(rng, kSize), random_vec(rng, kSize, -1, 1)},
                     [target](const Inputs& x) {
                       Vec loss(kSize);
                       each(kSize, engram::nn::GaussianNll<double>{x[0].data(), x[1].data(), target.data(), loss.data(),
                                                                   nullptr, nullptr, 0.0});
                       return Vec{std::accumulate(loss.begin(), loss.end(), 0.0) / kSize};
                     },
                     [target](const Inputs& x, const Vec& dout) {
                       Vec loss(kSize);
                       Inputs g{Vec(kSize), Vec(kSize)};
                       each(kSize, engram::nn::GaussianNll<double>{x[0].data(), x[1].data(), target.data(), loss.data(),
                                                                   g[0].data(), g[1].data(), dout[0] / kSize});
                       return g;
                     }});
  }
  {
    const Vec z = random_vec(rng, kSize);
    cases.push_back({"byol_loss", {random_vec(rng, kSize)},
                     [z](const Inputs& x) {
                       Vec loss(kRows);
                       each(kRows, engram::nn::ByolLoss<double>{x[0].data(), z.data(), loss.data(), nullptr, kDim, 0.0,
                                                                1e-12});
                       return Vec{std::accumulate(loss.begin(), loss.end(), 0.0) / kRows};
                     },
                     [z](const Inputs& x, const Vec& dout) {
                       Vec loss(kRows);
                       Inputs g{Vec(kSize)};
                       each(kRows, engram::nn::ByolLoss<double>{x[0].data(), z.data(), loss.data(), g[0].data(), kDim,
                                                                dout[0] / kRows, 1e-12});
                       return g;
                     }});
  }
  cases.push_back({"ema_update", {random_vec(rng, kSize), random_vec(rng, kSize)},
                   [](const Inputs& x) {
                     Vec target = x[0];
                     each(kSize, engram::nn::EmaUpdate<double>{target.data(), x[1].data(), 0.9});
                     return target;
                   },
                   [](const Inputs&, const Vec& dout) {
                     // The update is linear: d/d target = m, d/d online = 1 - m.
                     Inputs g{Vec(kSize), Vec(kSize)};
                     for (std::size_t i = 0; i < dout.size(); ++i) {
                       g[0][i] = 0.9 * dout[i];
                       g[1][i] = 0.1 * dout[i];
                     }
                     return g;
                   }});
  {
    // Mining: the selection is computed once from the unperturbed inputs and then held fixed,
    // as training does (no gradient flows through the choice); the gradient reaches the pool
    // rows that were picked, several queries may pick the same row.
    const std::int64_t pool_rows = 7, queries = 6;
    const Vec query = random_vec(rng, static_cast<std::size_t>(queries * kDim));
    const Vec pool = random_vec(rng, static_cast<std::size_t>(pool_rows * kDim));
    auto selected = std::make_shared<std::vector<std::int32_t>>(queries);
    mine(query, pool, selected->data(), kDim, pool_rows, 3, {11, 0, engram::Purpose::test, 4});
    cases.push_back({"mined_view_gather", {pool},
                     [selected, queries](const Inputs& x) {
                       Vec mined(static_cast<std::size_t>(queries * kDim));
                       each(queries, engram::nn::GatherRows<double>{x[0].data(), selected->data(), mined.data(), kDim});
                       return mined;
                     },
                     [selected, queries, pool_rows](const Inputs&, const Vec& dout) {
                       Inputs g{Vec(static_cast<std::size_t>(pool_rows * kDim), 0.0)};
                       each(pool_rows, engram::nn::GatherRowsBackward<double>{dout.data(), selected->data(), g[0].data(),
                                                                             queries, kDim});
                       return g;
                     }});
  }
  return cases;
}

TEST(SslGradcheck, EveryOpMatchesCentralDifferences) {
  const auto cases = ssl_cases();
  ASSERT_EQ(cases.size(), 7u);
  for (const OpCase& c : cases) engram::test::check_against_central_differences(c);
}

TEST(SslGradcheck, KlAndPoissonMatchTheirClosedForms) {
  // KL of N(mu, s^2) from N(0, 1) = (s^2 + mu^2 - 1 - ln s^2) / 2.
  const double mu[2] = {0.5, -1.0}, logvar[2] = {std::log(2.0), 0.0};
  double kl = 0;
  engram::nn::GaussianKl<double>{mu, logvar, &kl, nullptr, nullptr, 2, 1.0}(0);
  EXPECT_NEAR(kl, 0.5 * (2.0 + 0.25 - 1 - std::log(2.0)) + 0.5 * (1.0 + 1.0 - 1.0), 1e-12);
  const double rate = 2.5, count = 3;
  double loss = 0;
  engram::nn::PoissonNllRate<double>{&rate, &count, &loss, nullptr, 1.0, 0.0}(0);
  EXPECT_NEAR(loss, 2.5 - 3 * std::log(2.5), 1e-12);
}

TEST(SslGradcheck, MiningPicksOneOfTheKNearestByCosineWithAKeyedDraw) {
  std::mt19937_64 rng(3);
  const std::int64_t dim = 5, pool_rows = 40, queries = 30, k = 3;
  const Vec q = random_vec(rng, queries * dim), pool = random_vec(rng, pool_rows * dim);
  std::vector<std::int32_t> selected(queries), again(queries), other_step(queries);
  const engram::nn::MiningKey key{9, 2, engram::Purpose::test, 17};
  mine(q, pool, selected.data(), dim, pool_rows, k, key);
  // Reverse order of work items: same selection (keyed by query, not by launch order).
  mine(q, pool, again.data(), dim, pool_rows, k, key, true);
  EXPECT_EQ(selected, again);
  engram::nn::MiningKey next = key;
  next.step = 18;
  mine(q, pool, other_step.data(), dim, pool_rows, k, next);
  EXPECT_NE(selected, other_step);
  std::vector<int> rank_used(k, 0);
  for (std::int64_t i = 0; i < queries; ++i) {
    std::vector<std::pair<double, std::int32_t>> by_cos;
    for (std::int32_t p = 0; p < pool_rows; ++p) {
      double xy = 0, xx = 0, yy = 0;
      for (std::int64_t d = 0; d < dim; ++d) {
        xy += q[i * dim + d] * pool[p * dim + d];
        xx += q[i * dim + d] * q[i * dim + d];
        yy += pool[p * dim + d] * pool[p * dim + d];
      }
      by_cos.push_back({-xy / std::sqrt(xx * yy), p});
    }
    std::sort(by_cos.begin(), by_cos.end());
    const auto it = std::find_if(by_cos.begin(), by_cos.begin() + k,
                                 [&](const auto& e) { return e.second == selected[static_cast<std::size_t>(i)]; });
    ASSERT_NE(it, by_cos.begin() + k) << "query " << i << " picked a row outside its " << k << " nearest";
    ++rank_used[static_cast<std::size_t>(it - by_cos.begin())];
  }
  for (int used : rank_used) EXPECT_GT(used, 0) << "the draw never picks some neighbour rank";
}

}  // namespace
