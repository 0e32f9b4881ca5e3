#pragma once
// Small Swap-VAE and MYOW models and a synthetic recording that the self-supervised tests share:
// sizes odd enough to catch layout slips, small enough for gradient checks and whole fits.
#include <cstdint>

#include "engram/models/ssl/myow.hpp"
#include "engram/models/ssl/reach_data.hpp"
#include "engram/models/ssl/swap_vae.hpp"

namespace engram::testing {

inline engram::ssl::ReachData small_reach(std::uint64_t seed, std::int64_t trials = 24) {
  engram::ssl::SyntheticReachSpec spec;
  spec.trials = trials;
  spec.time = 6;
  spec.neurons = 9;
  return engram::ssl::synthetic_reach(spec, seed);
}

inline engram::ssl::SwapVaeConfig tiny_swap_vae() {
  engram::ssl::SwapVaeConfig c;
  c.hidden = {7};
  c.content = 3;
  c.style = 2;
  c.batch = 8;
  c.max_offset = 2;
  c.lr = 1e-2;
  return c;
}

inline engram::ssl::MyowConfig tiny_myow() {
  engram::ssl::MyowConfig c;
  c.hidden = {7};
  c.representation = 5;
  c.projection = 4;
  c.projection_hidden = 6;
  c.mined_projection = 3;
  c.mined_hidden = 5;
  c.batch = 8;
  c.pool = 10;
  c.miner_k = 2;
  c.lr = 1e-2;
  return c;
}

}  // namespace engram::testing
