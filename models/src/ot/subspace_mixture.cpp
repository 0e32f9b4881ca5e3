#include "engram/models/ot/subspace_mixture.hpp"

#include "engram/engine/backend/eigen.hpp"

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/ot/purposes.hpp"

namespace engram::ot {

namespace {

// Parts of the generator, each its own random stream family (the `step` of the key).
enum Part : std::uint32_t { kBasis = 0, kMean = 1, kSpread = 2, kLatent = 3, kNoise = 4, kRotation = 5, kShuffle = 6 };

RngStream stream(std::uint64_t seed, Part part, std::uint32_t index) {
  return RngStream(RngKey{seed, 0, purpose::ot_synthetic, part, index});
}

// A Haar-distributed orthogonal matrix: QR of a Gaussian matrix with the signs of R's diagonal
// moved into Q.
Eigen::MatrixXd random_orthogonal(RngStream& rng, int rows, int cols) {
  Eigen::MatrixXd g(rows, cols);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) g(r, c) = rng.normal();
  }
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(rows, cols);
  const Eigen::MatrixXd r = qr.matrixQR();
  for (int c = 0; c < cols; ++c) {
    if (r(c, c) < 0) q.col(c) *= -1;
  }
  return q;
}

}  // namespace

void validate(const SubspaceMixtureSpec& s, const std::string& prefix) {
  const auto field = [&](const char* name) { return prefix.empty() ? std::string(name) : prefix + "." + name; };
  if (s.clusters < 1) throw Error::bad_input(field("clusters"), std::to_string(s.clusters), "must be >= 1");
  if (s.ambient_dim < 1) throw Error::bad_input(field("ambient_dim"), std::to_string(s.ambient_dim), "must be >= 1");
  if (s.subspace_dim < 1 || s.subspace_dim > s.ambient_dim) {
    throw Error::bad_input(field("subspace_dim"), std::to_string(s.subspace_dim),
                           "must be in [1, ambient_dim = " + std::to_string(s.ambient_dim) + "]");
  }
  if (s.points_per_cluster < 2) {
    throw Error::bad_input(field("points_per_cluster"), std::to_string(s.points_per_cluster), "must be >= 2");
  }
  for (const auto& [name, v] : {std::pair{"mean_scale", s.mean_scale}, std::pair{"spread_min", s.spread_min},
                                std::pair{"spread_max", s.spread_max}, std::pair{"noise", s.noise}}) {
    if (!(v >= 0) || !std::isfinite(v)) throw Error::bad_input(field(name), to_text(v), "must be a finite number >= 0");
  }
  if (s.spread_max < s.spread_min) {
    throw Error::bad_input(field("spread_max"), to_text(s.spread_max), "must be >= spread_min = " + to_text(s.spread_min));
  }
}

SubspaceMixture make_subspace_mixture(const SubspaceMixtureSpec& s, std::uint64_t seed) {
  validate(s, "");
  const int d = s.ambient_dim, k = s.subspace_dim, per = s.points_per_cluster;
  const int n = s.clusters * per;
  SubspaceMixture out;
  Eigen::MatrixXd x(n, d);
  for (int c = 0; c < s.clusters; ++c) {
    const auto cu = static_cast<std::uint32_t>(c);
    RngStream basis_rng = stream(seed, kBasis, cu), mean_rng = stream(seed, kMean, cu),
              spread_rng = stream(seed, kSpread, cu);
    const Eigen::MatrixXd basis = random_orthogonal(basis_rng, d, k);
    Eigen::VectorXd mean(d), spread(k);
    for (int a = 0; a < d; ++a) mean(a) = s.mean_scale * mean_rng.normal();
    for (int a = 0; a < k; ++a) spread(a) = s.spread_min + (s.spread_max - s.spread_min) * spread_rng.uniform();
    for (int p = 0; p < per; ++p) {
      RngStream latent = stream(seed, kLatent, static_cast<std::uint32_t>(c * per + p));
      Eigen::VectorXd z(k);
      for (int a = 0; a < k; ++a) z(a) = spread(a) * latent.normal();
      x.row(c * per + p) = (mean + basis * z).transpose();
      out.x_label.push_back(c);
    }
  }
  RngStream rotation_rng = stream(seed, kRotation, 0);
  const Eigen::MatrixXd rotation = random_orthogonal(rotation_rng, d, d);

  // The target: the same latent points, transformed, noisy, in shuffled order with renamed clusters.
  std::vector<int> order(static_cast<std::size_t>(n)), rename(static_cast<std::size_t>(s.clusters));
  for (int i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  for (int c = 0; c < s.clusters; ++c) rename[static_cast<std::size_t>(c)] = c;
  RngStream shuffle = stream(seed, kShuffle, 0);
  for (int i = n - 1; i > 0; --i) std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(shuffle.next_u64() % static_cast<std::uint64_t>(i + 1))]);
  for (int c = s.clusters - 1; c > 0; --c) std::swap(rename[static_cast<std::size_t>(c)], rename[static_cast<std::size_t>(shuffle.next_u64() % static_cast<std::uint64_t>(c + 1))]);
  for (int i = 0; i < n; ++i) {
    const int src = order[static_cast<std::size_t>(i)];
    RngStream noise = stream(seed, kNoise, static_cast<std::uint32_t>(i));
    Eigen::VectorXd v = rotation * x.row(src).transpose();
    for (int a = 0; a < d; ++a) v(a) += s.noise * noise.normal();
    for (int a = 0; a < d; ++a) out.y.push_back(v(a));
    out.y_label.push_back(rename[static_cast<std::size_t>(out.x_label[static_cast<std::size_t>(src)])]);
  }
  for (int i = 0; i < n; ++i) {
    for (int a = 0; a < d; ++a) out.x.push_back(x(i, a));
  }
  for (int r = 0; r < d; ++r) {
    for (int c = 0; c < d; ++c) out.rotation.push_back(rotation(r, c));
  }
  return out;
}

double relative_error(const std::vector<double>& truth, const std::vector<double>& estimate,
                      const std::vector<double>& x, std::int32_t dim) {
  const auto d = static_cast<std::size_t>(dim);
  double num = 0, den = 0;
  for (std::size_t i = 0; i < x.size() / d; ++i) {
    for (std::size_t r = 0; r < d; ++r) {
      double t = 0, e = 0;
      for (std::size_t c = 0; c < d; ++c) {
        t += truth[r * d + c] * x[i * d + c];
        e += estimate[r * d + c] * x[i * d + c];
      }
      num += (t - e) * (t - e);
      den += t * t;
    }
  }
  return num / den;
}

}  // namespace engram::ot
