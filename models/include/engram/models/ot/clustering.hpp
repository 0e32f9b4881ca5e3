#pragma once
// Clustering of a point cloud for the unlabelled hierarchical OT alignment (alignment.hpp):
// k-means, and K-subspaces for clouds that are mixtures of affine subspaces, where k-means
// cuts across subspaces that pass near each other.
#include <cstdint>
#include <vector>

namespace engram::ot {

// Lloyd's k-means with k-means++ seeding keyed by (seed, restart, purpose::ot_kmeans); points
// row-major [N, dim]; labels in [0, k).
std::vector<std::int32_t> kmeans(const std::vector<double>& points, std::int32_t dim, std::int32_t k,
                                 std::uint64_t seed, std::int32_t rounds = 50, std::uint32_t restart = 0);

// K-subspaces (affine): each cluster is its mean plus its leading `subspace_dim` principal
// directions; points move to the cluster whose subspace is nearest (smallest squared residual)
// and the subspaces are refitted, until no label changes. Each of `restarts` starts from its own
// k-means; the labelling with the smallest total residual wins (ties: the earliest restart).
// Clusters that would fall below subspace_dim + 1 points keep their previous members.
std::vector<std::int32_t> k_subspaces(const std::vector<double>& points, std::int32_t dim, std::int32_t k,
                                      std::int32_t subspace_dim, std::uint64_t seed, std::int32_t restarts = 8,
                                      std::int32_t rounds = 100);

}  // namespace engram::ot
