#pragma once
// L-infinity adversarial attacks on a plastic network through its input gradient (backward(),
// k-cap selections held fixed at each evaluation point):
//   FGSM: x' = clip(x + eps sign(grad_x CE))
//   PGD:  `steps` steps of size `step_size` along sign(grad), each projected back onto the
//         eps-ball around x and the clip box; starts at x and returns the iterate of highest
//         cross-entropy. The default schedule (step_size 0) makes the first step FGSM's (size
//         eps) and the rest 2.5 eps / steps, so PGD is never weaker than FGSM on a sample.
//
//   AttackOptions attack{Attack::pgd, /*epsilon=*/0.1};
//   double robust = adversarial_accuracy(shape, w, test, attack);
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engram/models/plasticity/plastic_network.hpp"

namespace engram::plastic {

enum class Attack { fgsm, pgd };
Attack parse_attack(const std::string& name, const std::string& field);
const char* attack_name(Attack a);

struct AttackOptions {
  Attack attack = Attack::fgsm;
  double epsilon = 0.1;
  std::uint32_t steps = 10;
  double step_size = 0.0;  // 0: epsilon, then 2.5 * epsilon / steps
  double lower = -std::numeric_limits<double>::infinity();  // clip box of valid inputs
  double upper = std::numeric_limits<double>::infinity();
  void validate(const std::string& field = "attack") const;
};

std::vector<double> attack_input(const PlasticShape& shape, const PlasticWeights& w, const double* x, std::uint32_t label,
                                 const AttackOptions& options);
double adversarial_accuracy(const PlasticShape& shape, const PlasticWeights& w, const Dataset& data,
                            const AttackOptions& options);

}  // namespace engram::plastic
