#pragma once
// The random-stream purposes the self-supervised models own. The model keeps its keys here, in
// a block of the 8-bit purpose space no other model uses (120..127), so kernels/core's list
// needs no entry for it and no existing stream changes.
//
//   engram::RngStream rng({run_seed, 0, engram::ssl::purpose::views, step, row});
#include "engram/kernels/core/random.hpp"

namespace engram::ssl::purpose {

inline constexpr Purpose synthetic = static_cast<Purpose>(120);  // synthetic_reach (trial, draw)
inline constexpr Purpose split = static_cast<Purpose>(121);      // train/test trial split of one run
inline constexpr Purpose init = static_cast<Purpose>(122);       // initial weights (tensor, element)
inline constexpr Purpose views = static_cast<Purpose>(123);      // which bins and neighbours a step samples
inline constexpr Purpose augment = static_cast<Purpose>(124);    // dropout masks and noise (step, row)
inline constexpr Purpose latent = static_cast<Purpose>(125);     // reparameterisation noise (step, row)
inline constexpr Purpose mining = static_cast<Purpose>(126);     // which of the k neighbours is mined (step, query)

}  // namespace engram::ssl::purpose
