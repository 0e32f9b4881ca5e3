#include "engram/models/ot/clustering.hpp"

#include <limits>
#include <string>

#include "engram/engine/backend/eigen.hpp"

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/ot/purposes.hpp"
#include "points_matrix.hpp"

namespace engram::ot {

namespace {

using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;
using detail::as_matrix;

struct AffineSubspace {
  Vec mean;
  Mat basis;  // [dim, subspace_dim], orthonormal columns
};

AffineSubspace fit_subspace(const Mat& x, const std::vector<std::int32_t>& label, std::int32_t cluster,
                            std::int32_t subspace_dim) {
  const Eigen::Index dim = x.cols();
  AffineSubspace s{Vec::Zero(dim), Mat::Zero(dim, subspace_dim)};
  Eigen::Index count = 0;
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    if (label[static_cast<std::size_t>(i)] == cluster) {
      s.mean += x.row(i).transpose();
      ++count;
    }
  }
  if (count == 0) return s;
  s.mean /= static_cast<double>(count);
  Mat scatter = Mat::Zero(dim, dim);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    if (label[static_cast<std::size_t>(i)] == cluster) {
      const Vec d = x.row(i).transpose() - s.mean;
      scatter.noalias() += d * d.transpose();
    }
  }
  // Eigenvalues come in increasing order: the last columns span the leading directions.
  Eigen::SelfAdjointEigenSolver<Mat> eig(scatter);
  s.basis = eig.eigenvectors().rightCols(subspace_dim);
  return s;
}

double residual(const AffineSubspace& s, const Vec& point) {
  const Vec d = point - s.mean;
  return d.squaredNorm() - (s.basis.transpose() * d).squaredNorm();
}

// Refines `label` in place; returns the total squared residual of the final labelling.
double refine(const Mat& x, std::int32_t k, std::int32_t subspace_dim, std::int32_t rounds,
              std::vector<std::int32_t>& label) {
  const Eigen::Index n = x.rows();
  std::vector<AffineSubspace> fits(static_cast<std::size_t>(k));
  std::vector<double> best_residual(static_cast<std::size_t>(n));
  double total = 0;
  for (std::int32_t round = 0; round <= rounds; ++round) {
    std::vector<Eigen::Index> members(static_cast<std::size_t>(k), 0);
    for (const std::int32_t l : label) ++members[static_cast<std::size_t>(l)];
    for (std::int32_t c = 0; c < k; ++c) fits[static_cast<std::size_t>(c)] = fit_subspace(x, label, c, subspace_dim);
    bool changed = false;
    total = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      const Vec p = x.row(i).transpose();
      std::int32_t best = label[static_cast<std::size_t>(i)];
      double best_r = residual(fits[static_cast<std::size_t>(best)], p);
      for (std::int32_t c = 0; c < k; ++c) {
        // An empty cluster has no subspace yet; it is re-seeded below.
        if (members[static_cast<std::size_t>(c)] == 0) continue;
        const double r = residual(fits[static_cast<std::size_t>(c)], p);
        if (r < best_r) {
          best_r = r;
          best = c;
        }
      }
      best_residual[static_cast<std::size_t>(i)] = best_r;
      total += best_r;
      if (best != label[static_cast<std::size_t>(i)] && round < rounds) {
        label[static_cast<std::size_t>(i)] = best;
        changed = true;
      }
    }
    // A cluster left empty takes the worst-fitted point, so k subspaces stay in use.
    std::vector<Eigen::Index> after(static_cast<std::size_t>(k), 0);
    for (const std::int32_t l : label) ++after[static_cast<std::size_t>(l)];
    for (std::int32_t c = 0; c < k && round < rounds; ++c) {
      if (after[static_cast<std::size_t>(c)] > 0) continue;
      Eigen::Index worst = 0;
      for (Eigen::Index i = 1; i < n; ++i) {
        if (best_residual[static_cast<std::size_t>(i)] > best_residual[static_cast<std::size_t>(worst)]) worst = i;
      }
      --after[static_cast<std::size_t>(label[static_cast<std::size_t>(worst)])];
      label[static_cast<std::size_t>(worst)] = c;
      best_residual[static_cast<std::size_t>(worst)] = 0;
      ++after[static_cast<std::size_t>(c)];
      changed = true;
    }
    if (!changed) break;
  }
  return total;
}

}  // namespace

std::vector<std::int32_t> kmeans(const std::vector<double>& points, std::int32_t dim, std::int32_t k,
                                 std::uint64_t seed, std::int32_t rounds, std::uint32_t restart) {
  const Mat x = as_matrix(points, dim, "points");
  const Eigen::Index n = x.rows();
  if (k < 1 || k > n) throw Error::bad_input("clusters", std::to_string(k), "must be in [1, number of points = " + std::to_string(n) + "]");
  // k-means++ seeding: each new centre drawn with probability proportional to the squared
  // distance to the nearest centre so far.
  Mat centres(k, dim);
  RngStream first(RngKey{seed, restart, purpose::ot_kmeans, 0, 0});
  centres.row(0) = x.row(static_cast<Eigen::Index>(first.next_u64() % static_cast<std::uint64_t>(n)));
  Vec nearest = (x.rowwise() - centres.row(0)).rowwise().squaredNorm();
  for (std::int32_t c = 1; c < k; ++c) {
    RngStream rng(RngKey{seed, restart, purpose::ot_kmeans, static_cast<std::uint32_t>(c), 0});
    double target = rng.uniform() * nearest.sum();
    Eigen::Index pick = n - 1;
    for (Eigen::Index i = 0; i < n; ++i) {
      target -= nearest(i);
      if (target <= 0) {
        pick = i;
        break;
      }
    }
    centres.row(c) = x.row(pick);
    nearest = nearest.cwiseMin((x.rowwise() - centres.row(c)).rowwise().squaredNorm());
  }
  std::vector<std::int32_t> label(static_cast<std::size_t>(n), -1);
  for (std::int32_t round = 0; round < rounds; ++round) {
    bool changed = false;
    for (Eigen::Index i = 0; i < n; ++i) {
      Eigen::Index best = 0;
      (centres.rowwise() - x.row(i)).rowwise().squaredNorm().minCoeff(&best);
      if (label[static_cast<std::size_t>(i)] != best) {
        label[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(best);
        changed = true;
      }
    }
    if (!changed) break;
    Mat sums = Mat::Zero(k, dim);
    Vec counts = Vec::Zero(k);
    for (Eigen::Index i = 0; i < n; ++i) {
      sums.row(label[static_cast<std::size_t>(i)]) += x.row(i);
      counts(label[static_cast<std::size_t>(i)]) += 1;
    }
    for (std::int32_t c = 0; c < k; ++c) {
      if (counts(c) > 0) centres.row(c) = sums.row(c) / counts(c);
    }
  }
  return label;
}

std::vector<std::int32_t> k_subspaces(const std::vector<double>& points, std::int32_t dim, std::int32_t k,
                                      std::int32_t subspace_dim, std::uint64_t seed, std::int32_t restarts,
                                      std::int32_t rounds) {
  const Mat x = as_matrix(points, dim, "points");
  if (subspace_dim < 0 || subspace_dim >= dim) {
    throw Error::bad_input("cluster_dim", std::to_string(subspace_dim), "must be in [0, dim = " + std::to_string(dim) + ")");
  }
  if (restarts < 1) throw Error::bad_input("restarts", std::to_string(restarts), "must be >= 1");
  std::vector<std::int32_t> best;
  double best_total = std::numeric_limits<double>::infinity();
  for (std::int32_t r = 0; r < restarts; ++r) {
    std::vector<std::int32_t> label = kmeans(points, dim, k, seed, 50, static_cast<std::uint32_t>(r));
    const double total = refine(x, k, subspace_dim, rounds, label);
    if (total < best_total) {
      best_total = total;
      best = std::move(label);
    }
  }
  return best;
}

}  // namespace engram::ot
