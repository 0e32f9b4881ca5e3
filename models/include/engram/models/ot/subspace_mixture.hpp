#pragma once
// The synthetic test of hierarchical OT alignment: a mixture of low-rank Gaussians, each living
// in its own random subspace around its own random mean, observed once as the source X and once,
// shuffled, through a random ground-truth orthogonal transform plus isotropic noise as the
// target Y = R_true X + noise. The metric is the relative error of a recovered transform R,
//   ‖R_true X − R X‖² / ‖R_true X‖².
// Every draw is keyed by (seed, purpose::ot_synthetic, part, index): same seed, same data.
//
//   engram::ot::SubspaceMixtureSpec spec;           // 8 clusters of dim 2 in ambient 6, 50 points each
//   auto data = engram::ot::make_subspace_mixture(spec, /*seed=*/3);
//   double err = engram::ot::relative_error(data.rotation, estimate, data.x, spec.ambient_dim);
#include <cstdint>
#include <string>
#include <vector>
#include "engram/models/ot/purposes.hpp"

namespace engram::ot {

struct SubspaceMixtureSpec {
  std::int32_t clusters = 8;
  std::int32_t subspace_dim = 2;
  std::int32_t ambient_dim = 6;
  std::int32_t points_per_cluster = 50;
  double mean_scale = 2.0;   // cluster means ~ N(0, mean_scale² I)
  double spread_min = 0.3;   // per-direction standard deviations in the subspace, uniform in
  double spread_max = 1.0;   // [spread_min, spread_max]
  double noise = 0.01;       // standard deviation of the target's isotropic noise
};

struct SubspaceMixture {
  std::vector<double> x, y;                 // row-major [N, ambient_dim]
  std::vector<std::int32_t> x_label, y_label;  // cluster of each point; y's ids are permuted
  std::vector<double> rotation;             // R_true, row-major [ambient_dim, ambient_dim]
};

SubspaceMixture make_subspace_mixture(const SubspaceMixtureSpec& spec, std::uint64_t seed);

// ‖R_true X − R X‖² / ‖R_true X‖² for row-major points x [N, dim] and transforms [dim, dim].
double relative_error(const std::vector<double>& truth, const std::vector<double>& estimate,
                      const std::vector<double>& x, std::int32_t dim);

// Checks a spec; bad_input names "<prefix>.<field>".
void validate(const SubspaceMixtureSpec& spec, const std::string& prefix);

}  // namespace engram::ot
