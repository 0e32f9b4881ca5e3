#include "engram/models/ot/alignment.hpp"

#include "points_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "engram/engine/backend/eigen.hpp"

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/ot/clustering.hpp"
#include "engram/models/ot/sinkhorn.hpp"
#include "engram/models/ot/purposes.hpp"

namespace engram::ot {

namespace {

using detail::as_matrix;

using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;

// The nearest orthogonal matrix (Frobenius): U Vᵀ of the SVD.
Mat proj_orthogonal(const Mat& m) {
  Eigen::JacobiSVD<Mat> svd(m, Eigen::ComputeFullU | Eigen::ComputeFullV);
  return svd.matrixU() * svd.matrixV().transpose();
}

Mat centred(const Mat& m) { return m.rowwise() - m.colwise().mean(); }


struct Cluster {
  std::vector<Eigen::Index> members;
  Vec mean;
  Vec spectrum;  // square roots of the covariance eigenvalues, decreasing
  double weight = 0;
  double variance = 0;  // trace of the covariance
};

std::vector<Cluster> clusters_of(const Mat& points, const std::vector<std::int32_t>& labels, const std::string& field) {
  if (static_cast<Eigen::Index>(labels.size()) != points.rows()) {
    throw Error::bad_input(field + ".size", std::to_string(labels.size()),
                           "must equal the number of points, " + std::to_string(points.rows()));
  }
  std::int32_t k = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) throw Error::bad_input(field + "[" + std::to_string(i) + "]", std::to_string(labels[i]), "must be >= 0");
    k = std::max(k, labels[i] + 1);
  }
  std::vector<Cluster> all(static_cast<std::size_t>(k));
  for (std::size_t i = 0; i < labels.size(); ++i) all[static_cast<std::size_t>(labels[i])].members.push_back(static_cast<Eigen::Index>(i));
  std::vector<Cluster> out;
  for (Cluster& c : all) {
    if (c.members.empty()) continue;  // unused label ids
    Mat pts(static_cast<Eigen::Index>(c.members.size()), points.cols());
    for (std::size_t r = 0; r < c.members.size(); ++r) pts.row(static_cast<Eigen::Index>(r)) = points.row(c.members[r]);
    c.mean = pts.colwise().mean().transpose();
    const Mat centered = centred(pts);
    const Mat cov = centered.transpose() * centered / static_cast<double>(pts.rows());
    Eigen::SelfAdjointEigenSolver<Mat> eig(cov);
    c.spectrum = eig.eigenvalues().reverse().cwiseMax(0.0).cwiseSqrt();
    c.variance = cov.trace();
    c.weight = static_cast<double>(c.members.size()) / static_cast<double>(points.rows());
    out.push_back(std::move(c));
  }
  return out;
}

Mat rows_of(const Mat& points, const Cluster& c) {
  Mat out(static_cast<Eigen::Index>(c.members.size()), points.cols());
  for (std::size_t r = 0; r < c.members.size(); ++r) out.row(static_cast<Eigen::Index>(r)) = points.row(c.members[r]);
  return out;
}

std::vector<double> flat(const Mat& m) {
  std::vector<double> out(static_cast<std::size_t>(m.size()));
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    for (Eigen::Index a = 0; a < m.cols(); ++a) out[static_cast<std::size_t>(i * m.cols() + a)] = m(i, a);
  }
  return out;
}

Mat plan_matrix(const std::vector<double>& plan, Eigen::Index n, Eigen::Index m) {
  Mat q(n, m);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < m; ++j) q(i, j) = plan[static_cast<std::size_t>(i * m + j)];
  }
  return q;
}

void check_options(const AlignmentOptions& o) {
  for (const auto& [name, v] : {std::pair{"cluster_eps", o.cluster_eps}, std::pair{"point_eps", o.point_eps},
                                std::pair{"rho", o.rho}, std::pair{"tol", o.tol}, std::pair{"sinkhorn_tol", o.sinkhorn_tol}}) {
    if (!(v > 0) || !std::isfinite(v)) throw Error::bad_input(name, to_text(v), "must be a finite number > 0");
  }
  if (o.max_iter < 1) throw Error::bad_input("max_iter", std::to_string(o.max_iter), "must be >= 1");
  if (o.sinkhorn_max_iter < 1) {
    throw Error::bad_input("sinkhorn_max_iter", std::to_string(o.sinkhorn_max_iter), "must be >= 1");
  }
}

SinkhornOptions point_options(const AlignmentOptions& o) {
  SinkhornOptions s;
  s.dim = o.dim;
  s.tol = o.sinkhorn_tol;
  s.max_iter = o.sinkhorn_max_iter;
  s.plan = true;
  return s;
}

std::vector<double> flat_rotation(const Mat& r) { return flat(r); }

std::vector<std::int32_t> cluster_labels(const Mat& points, const AlignmentOptions& o, std::uint64_t seed) {
  return o.cluster_dim > 0 ? k_subspaces(flat(points), o.dim, o.clusters, o.cluster_dim, seed, o.cluster_restarts)
                           : kmeans(flat(points), o.dim, o.clusters, seed);
}

}  // namespace

Alignment align_hierarchical(Backend& backend, const std::vector<double>& x_in, const std::vector<double>& y_in,
                             const std::vector<std::int32_t>& x_label_in, const std::vector<std::int32_t>& y_label_in,
                             const AlignmentOptions& o) {
  check_options(o);
  const Mat x = centred(as_matrix(x_in, o.dim, "x")), y = centred(as_matrix(y_in, o.dim, "y"));
  const auto x_label = x_label_in.empty() ? cluster_labels(x, o, o.seed) : x_label_in;
  const auto y_label = y_label_in.empty() ? cluster_labels(y, o, o.seed + 1) : y_label_in;
  const std::vector<Cluster> cx = clusters_of(x, x_label, "x_label"), cy = clusters_of(y, y_label, "y_label");
  const auto kx = static_cast<Eigen::Index>(cx.size()), ky = static_cast<Eigen::Index>(cy.size());

  // Cluster correspondences from a cost no rotation changes.
  Problem<double> clusters;
  clusters.n = kx;
  clusters.m = ky;
  double largest = 0;
  for (const Cluster& a : cx) {
    for (const Cluster& b : cy) {
      const Eigen::Index r = std::min(a.spectrum.size(), b.spectrum.size());
      const double shape = (a.spectrum.head(r) - b.spectrum.head(r)).squaredNorm();
      const double place = std::pow(a.mean.norm() - b.mean.norm(), 2);
      clusters.cost.push_back(shape + place);
      largest = std::max(largest, shape + place);
    }
  }
  for (const Cluster& a : cx) clusters.a.push_back(a.weight);
  for (const Cluster& b : cy) clusters.b.push_back(b.weight);
  clusters.eps = o.cluster_eps * std::max(largest, std::numeric_limits<double>::min());
  SinkhornOptions cluster_options;
  cluster_options.cost = CostKind::stored;
  cluster_options.tol = 1e-6;
  cluster_options.max_iter = 10000;
  cluster_options.plan = true;
  const Solution<double> cluster_solution = solve(backend, std::vector<Problem<double>>{clusters}, cluster_options)[0];
  const Mat p = plan_matrix(cluster_solution.plan, kx, ky);

  // Start from the Procrustes fit of the matched means.
  Mat means = Mat::Zero(o.dim, o.dim);
  for (Eigen::Index i = 0; i < kx; ++i) {
    for (Eigen::Index j = 0; j < ky; ++j) means += p(i, j) * cy[static_cast<std::size_t>(j)].mean * cx[static_cast<std::size_t>(i)].mean.transpose();
  }
  Mat z = proj_orthogonal(means);

  struct Pair {
    Eigen::Index i, j;
    double weight;
    Mat xi, yj, r, lambda;
  };
  std::vector<Pair> pairs;
  const double cutoff = 0.1 * p.maxCoeff();
  double variance = 0;
  for (const Cluster& c : cy) variance += c.weight * c.variance;
  for (Eigen::Index i = 0; i < kx; ++i) {
    for (Eigen::Index j = 0; j < ky; ++j) {
      if (p(i, j) < cutoff) continue;
      pairs.push_back({i, j, p(i, j), rows_of(x, cx[static_cast<std::size_t>(i)]), rows_of(y, cy[static_cast<std::size_t>(j)]), z,
                       Mat::Zero(o.dim, o.dim)});
    }
  }

  Alignment out;
  out.cluster_plan = cluster_solution.plan;
  const SinkhornOptions sinkhorn = point_options(o);
  double rho = -1;
  for (std::int32_t t = 0; t < o.max_iter; ++t) {
    // Point-level Sinkhorn of every pair under its own transform: one ragged batch.
    std::vector<Problem<double>> problems;
    for (const Pair& q : pairs) {
      Problem<double> pr;
      pr.x = flat(q.xi * q.r.transpose());
      pr.y = flat(q.yj);
      pr.eps = o.point_eps * variance;
      problems.push_back(std::move(pr));
    }
    const std::vector<Solution<double>> plans = solve(backend, problems, sinkhorn);
    std::vector<Mat> g(pairs.size());
    double g_norm = 0;
    for (std::size_t k = 0; k < pairs.size(); ++k) {
      const Mat q = plan_matrix(plans[k].plan, pairs[k].xi.rows(), pairs[k].yj.rows());
      g[k] = 2 * pairs[k].weight * (pairs[k].yj.transpose() * q.transpose() * pairs[k].xi);
      g_norm += g[k].norm() / static_cast<double>(pairs.size());
    }
    if (rho < 0) rho = o.rho * g_norm;
    Mat mean = Mat::Zero(o.dim, o.dim);
    for (std::size_t k = 0; k < pairs.size(); ++k) {
      pairs[k].r = proj_orthogonal(g[k] + rho * (z - pairs[k].lambda));
      mean += (pairs[k].r + pairs[k].lambda) / static_cast<double>(pairs.size());
    }
    const Mat z_new = proj_orthogonal(mean);
    for (Pair& q : pairs) q.lambda += q.r - z_new;
    const double change = (z_new - z).norm();
    z = z_new;
    out.iterations = t + 1;
    if (change < o.tol) {
      out.converged = true;
      break;
    }
  }
  out.rotation = flat_rotation(z);
  return out;
}

Alignment align_single_level(Backend& backend, const std::vector<double>& x_in, const std::vector<double>& y_in,
                             const AlignmentOptions& o) {
  check_options(o);
  const Mat x = centred(as_matrix(x_in, o.dim, "x")), y = centred(as_matrix(y_in, o.dim, "y"));
  // Same ε as the hierarchical point level: relative to the mean within-cluster variance of y.
  const auto y_label = kmeans(flat(y), o.dim, o.clusters, o.seed + 1);
  double variance = 0;
  for (const Cluster& c : clusters_of(y, y_label, "y_label")) variance += c.weight * c.variance;
  Mat z = Mat::Identity(o.dim, o.dim);
  Alignment out;
  const SinkhornOptions sinkhorn = point_options(o);
  for (std::int32_t t = 0; t < o.max_iter; ++t) {
    Problem<double> pr;
    pr.x = flat(x * z.transpose());
    pr.y = flat(y);
    pr.eps = o.point_eps * variance;
    const Solution<double> s = solve(backend, std::vector<Problem<double>>{pr}, sinkhorn)[0];
    const Mat q = plan_matrix(s.plan, x.rows(), y.rows());
    const Mat z_new = proj_orthogonal(y.transpose() * q.transpose() * x);
    const double change = (z_new - z).norm();
    z = z_new;
    out.iterations = t + 1;
    if (change < o.tol) {
      out.converged = true;
      break;
    }
  }
  out.rotation = flat_rotation(z);
  return out;
}

}  // namespace engram::ot
