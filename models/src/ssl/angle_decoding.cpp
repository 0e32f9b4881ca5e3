#include "engram/models/ssl/angle_decoding.hpp"

#include "engram/engine/backend/eigen.hpp"
#include <cmath>
#include <numbers>

#include "engram/engine/error.hpp"

namespace engram::ssl {

namespace {

using Matrix = Eigen::MatrixXd;

std::vector<std::int32_t> moving(const ReachData& data, const std::vector<std::int32_t>& bins, double min_speed) {
  std::vector<std::int32_t> out;
  for (std::int32_t b : bins) {
    if (min_speed <= 0 || data.speed[static_cast<std::size_t>(b)] > min_speed) out.push_back(b);
  }
  return out;
}

Matrix design(const std::vector<double>& rep, std::int64_t dim, const std::vector<std::int32_t>& bins) {
  Matrix a(static_cast<Eigen::Index>(bins.size()), dim + 1);
  for (std::size_t i = 0; i < bins.size(); ++i) {
    for (std::int64_t d = 0; d < dim; ++d) {
      a(static_cast<Eigen::Index>(i), d) = rep[static_cast<std::size_t>(bins[i]) * static_cast<std::size_t>(dim) + static_cast<std::size_t>(d)];
    }
    a(static_cast<Eigen::Index>(i), dim) = 1.0;
  }
  return a;
}

std::pair<double, double> score(const ReachData& data, const Matrix& pred, const std::vector<std::int32_t>& bins) {
  std::int64_t within = 0, within_delta = 0;
  for (std::size_t i = 0; i < bins.size(); ++i) {
    const double predicted = std::atan2(pred(static_cast<Eigen::Index>(i), 1), pred(static_cast<Eigen::Index>(i), 0));
    double diff = std::fabs(std::remainder(predicted - data.angle(bins[i]), 2.0 * std::numbers::pi));
    within += diff < std::numbers::pi / 8 ? 1 : 0;
    within_delta += diff < 3 * std::numbers::pi / 16 ? 1 : 0;
  }
  const double n = static_cast<double>(bins.size());
  return {static_cast<double>(within) / n, static_cast<double>(within_delta) / n};
}

}  // namespace

AngleScore decode_angles(const ReachData& data, const RunSplit& split, const std::vector<double>& rep, std::int64_t dim,
                         double min_speed) {
  const auto train = moving(data, split.train_bins, min_speed);
  const auto test = moving(data, split.test_bins, min_speed);
  if (train.empty() || test.empty()) {
    throw Error::bad_input("evaluation.min_speed", to_text(min_speed), "leaves no training or no test bin to score");
  }
  const Matrix a = design(rep, dim, train);
  Matrix y(a.rows(), 2);
  for (std::size_t i = 0; i < train.size(); ++i) {
    y(static_cast<Eigen::Index>(i), 0) = std::cos(data.angle(train[i]));
    y(static_cast<Eigen::Index>(i), 1) = std::sin(data.angle(train[i]));
  }
  // A tiny ridge keeps collinear representations (dead units, PCA of rank < dim) solvable; the
  // bias column is not penalised.
  Matrix gram = a.transpose() * a;
  const double ridge = 1e-6 * (gram.trace() / static_cast<double>(gram.rows()) + 1.0);
  for (Eigen::Index d = 0; d < dim; ++d) gram(d, d) += ridge;
  const Matrix w = gram.ldlt().solve(a.transpose() * y);
  AngleScore s;
  s.train_accuracy = score(data, a * w, train).first;
  const auto [acc, delta] = score(data, design(rep, dim, test) * w, test);
  s.accuracy = acc;
  s.delta_accuracy = delta;
  s.test_bins = static_cast<std::int64_t>(test.size());
  return s;
}

std::vector<double> pca_representation(const ReachData& data, const RunSplit& split, std::int64_t dim) {
  const std::int64_t N = data.neurons;
  dim = std::min(dim, N);
  auto standardised = [&](std::int64_t b, std::int64_t n) {
    return (static_cast<double>(data.count(b, n)) - split.mean[static_cast<std::size_t>(n)]) * split.inv_std[static_cast<std::size_t>(n)];
  };
  Matrix cov = Matrix::Zero(N, N);
  for (std::int32_t b : split.train_bins) {
    Eigen::VectorXd x(N);
    for (std::int64_t n = 0; n < N; ++n) x(n) = standardised(b, n);
    cov.noalias() += x * x.transpose();
  }
  const Eigen::SelfAdjointEigenSolver<Matrix> eig(cov);
  std::vector<double> out(static_cast<std::size_t>(data.bins * dim));
  for (std::int64_t b = 0; b < data.bins; ++b) {
    for (std::int64_t d = 0; d < dim; ++d) {
      const Eigen::Index col = N - 1 - d;  // eigenvalues ascend
      double v = 0;
      for (std::int64_t n = 0; n < N; ++n) v += standardised(b, n) * eig.eigenvectors()(n, col);
      out[static_cast<std::size_t>(b * dim + d)] = v;
    }
  }
  return out;
}

std::vector<double> project_2d(const RunSplit& split, const std::vector<double>& rep, std::int64_t dim) {
  const std::int64_t bins = static_cast<std::int64_t>(rep.size()) / dim;
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(dim);
  for (std::int32_t b : split.train_bins) {
    for (std::int64_t d = 0; d < dim; ++d) mean(d) += rep[static_cast<std::size_t>(b * dim + d)];
  }
  mean /= static_cast<double>(split.train_bins.size());
  Matrix cov = Matrix::Zero(dim, dim);
  for (std::int32_t b : split.train_bins) {
    Eigen::VectorXd x(dim);
    for (std::int64_t d = 0; d < dim; ++d) x(d) = rep[static_cast<std::size_t>(b * dim + d)] - mean(d);
    cov.noalias() += x * x.transpose();
  }
  const Eigen::SelfAdjointEigenSolver<Matrix> eig(cov);
  std::vector<double> out(static_cast<std::size_t>(bins * 2));
  for (std::int64_t b = 0; b < bins; ++b) {
    for (int k = 0; k < 2 && k < dim; ++k) {
      double v = 0;
      for (std::int64_t d = 0; d < dim; ++d) v += (rep[static_cast<std::size_t>(b * dim + d)] - mean(d)) * eig.eigenvectors()(d, dim - 1 - k);
      out[static_cast<std::size_t>(b * 2 + k)] = v;
    }
  }
  return out;
}

}  // namespace engram::ssl
