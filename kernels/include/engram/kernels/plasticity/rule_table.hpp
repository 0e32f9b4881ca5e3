#pragma once
// Layout of a learned plasticity rule: three small tables indexed by firing-history states.
// A hidden neuron's state after R recurrent rounds (plus the input-only round 0) is the integer
// whose bit t says "fired in round t", so states lie in [0, 2^(R+1)). One flat parameter vector
// holds, in order:
//   recurrent: states x states values, index pre_state * states + post_state (existing edges only)
//   input:     states values, index post_state (scaled by the input feature on that edge)
//   output:    states x 2 values, index hidden_state * 2 + which; which = 0 for the true label's
//              unit, 1 for the wrongly predicted unit
// so R = 1 has 16 + 4 + 8 = 28 parameters and R = 2 has 64 + 8 + 16 = 88.
//
//   const engram::plasticity::RuleLayout layout = engram::plasticity::RuleLayout::for_rounds(1);
//   double beta = params[layout.recurrent(pre_state, post_state)];
#include <cstdint>

#include "engram/kernels/core/hd.hpp"

namespace engram::plasticity {

struct RuleLayout {
  std::uint32_t states = 0;  // 2^(rounds + 1)

  ENGRAM_HD static RuleLayout for_rounds(std::uint32_t rounds) { return {1u << (rounds + 1)}; }
  ENGRAM_HD std::uint32_t recurrent(std::uint32_t pre, std::uint32_t post) const { return pre * states + post; }
  ENGRAM_HD std::uint32_t input(std::uint32_t post) const { return states * states + post; }
  ENGRAM_HD std::uint32_t output(std::uint32_t hidden, std::uint32_t which) const {
    return states * states + states + hidden * 2 + which;
  }
  ENGRAM_HD std::uint32_t size() const { return states * states + 3 * states; }
};

// How a table value beta changes a weight: w += eta * beta, or w *= 1 + eta * beta.
enum class RuleMode : std::uint32_t { additive = 0, multiplicative = 1 };

ENGRAM_HD inline double apply_rule(double w, double step, RuleMode mode) {
  return mode == RuleMode::additive ? w + step : w * (1.0 + step);
}

}  // namespace engram::plasticity
