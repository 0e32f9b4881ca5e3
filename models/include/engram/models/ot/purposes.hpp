#pragma once
// The RNG purposes of OT alignment (models/ot): the third field of every RngKey they draw with.
// Values are global (kernels/core/random.hpp); tests/unit/purposes_test.cpp checks that no two owners share one.
#include "engram/kernels/core/random.hpp"

namespace engram::purpose {

inline constexpr Purpose ot_synthetic{19};  // OT alignment test data: subspaces, means, points, noise, the true transform (step = part)
inline constexpr Purpose ot_kmeans{20};  // k-means++ seeding of OT alignment clusters (step = round)

}  // namespace engram::purpose
