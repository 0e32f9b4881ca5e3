#pragma once
// Hierarchical OT alignment of two point clouds by one global orthogonal transform R (Lee et al.,
// "Hierarchical optimal transport for multimodal distribution alignment", NeurIPS 2019):
//  1. clusters: given labels, or k-means or K-subspaces on each cloud (clustering.hpp);
//  2. cluster correspondences: balanced OT between the clusters over a rotation-invariant
//     cluster-to-cluster cost (sorted covariance spectra and distance of the mean to the centre);
//     R starts as the Procrustes solution of the matched cluster means;
//  3. ADMM over the matched cluster pairs (i, j): each pair alternates a point-level Sinkhorn
//     step between R_ij X_i and Y_j (all pairs in one ragged batched call) and a Procrustes step
//       R_ij = proj_O(2 P_ij M_ij + ρ (R − Λ_ij)),   M_ij = Σ_kl Q_kl y_l x_kᵀ;
//     the global transform is the Procrustes projection of the mean, R = proj_O(mean(R_ij + Λ_ij)),
//     then Λ_ij += R_ij − R; stop when ‖ΔR‖_F < tol.
// The single-level baseline alternates whole-cloud Sinkhorn and Procrustes from R = I
// (Wasserstein-Procrustes).
//
//   auto data = engram::ot::make_subspace_mixture({}, 1);
//   engram::ot::AlignmentOptions o;  o.dim = 6;
//   auto fit = engram::ot::align_hierarchical(backend, data.x, data.y, data.x_label, data.y_label, o);
//   double err = engram::ot::relative_error(data.rotation, fit.rotation, data.x, 6);
#include <cstdint>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/models/ot/purposes.hpp"

namespace engram::ot {

struct AlignmentOptions {
  std::int32_t dim = 0;              // ambient dimension of the points
  std::int32_t clusters = 8;         // k of k-means when labels are not given
  std::int32_t cluster_dim = 0;      // > 0: K-subspaces of this dimension instead of k-means
  std::int32_t cluster_restarts = 8; // K-subspaces restarts (each from its own k-means)
  double cluster_eps = 0.01;         // ε of the cluster-level OT, relative to its largest cost
  double point_eps = 0.05;           // ε of the point-level Sinkhorn, relative to the data variance
  double rho = 1.0;                  // ADMM penalty, relative to the pairs' mean ‖2 P_ij M_ij‖
  double tol = 1e-4;                 // stop when ‖R_new − R‖_F < tol
  std::int32_t max_iter = 50;        // ADMM (or baseline) iterations
  std::int32_t sinkhorn_max_iter = 200;
  double sinkhorn_tol = 1e-5;
  std::uint64_t seed = 0;            // clustering seed
};

struct Alignment {
  std::vector<double> rotation;            // row-major [dim, dim]
  std::vector<double> cluster_plan;        // [k_x, k_y] (hierarchical only)
  std::int32_t iterations = 0;
  bool converged = false;
};

// Points row-major [N, dim]; labels in [0, k) per point, or empty to cluster each cloud.
Alignment align_hierarchical(Backend& backend, const std::vector<double>& x, const std::vector<double>& y,
                             const std::vector<std::int32_t>& x_label, const std::vector<std::int32_t>& y_label,
                             const AlignmentOptions& options);

Alignment align_single_level(Backend& backend, const std::vector<double>& x, const std::vector<double>& y,
                             const AlignmentOptions& options);

}  // namespace engram::ot
