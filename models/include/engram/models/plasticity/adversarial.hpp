#pragma once
// Adversarial attacks on a plastic network through its input gradient (backward(), k-cap
// selections held fixed at each evaluation point), in the L-infinity or the L2 norm:
//   FGSM: x' = clip(x + eps u), u = sign(grad_x CE) (linf) or grad / |grad|_2 (l2: the "fast
//         gradient method")
//   PGD:  `steps` steps of size `step_size` along u, each projected back onto the eps-ball of
//         the norm around x and then onto the clip box (which only shrinks the perturbation);
//         starts at x and returns the iterate of highest cross-entropy. The default schedule
//         (step_size 0) makes the first step FGSM's (size eps) and the rest 2.5 eps / steps,
//         so PGD is never weaker than FGSM on a sample.
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

// The ball an attack stays in: max_k |x'_k - x_k| <= eps, or |x' - x|_2 <= eps (the budget of
// Cristian et al.'s robustness experiment).
enum class Norm { linf, l2 };
Norm parse_norm(const std::string& name, const std::string& field);
const char* norm_name(Norm n);

struct AttackOptions {
  Attack attack = Attack::fgsm;
  double epsilon = 0.1;
  std::uint32_t steps = 10;
  Norm norm = Norm::linf;
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
