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
//   targeted: the attack of the AdversarialExamples.py written on Cristian et al.'s BrainNet code:
//         aim at a random wrong label, and let Adam (lr 0.01) on the input minimise the
//         cross-entropy of that label computed from the softmax *probabilities* (BrainNet's
//         forward_pass returns them and nn.CrossEntropyLoss applies a log-softmax again); before
//         each step clip to the box, stop once the perturbation's L2 norm exceeds eps (the input
//         is returned as it is, so it may overshoot eps by one step), the target is predicted, or
//         after `steps` steps. Its success is counted against the true label.
//
//   AttackOptions attack{Attack::pgd, /*epsilon=*/0.1};
//   double robust = adversarial_accuracy(shape, w, test, attack);
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engram/models/plasticity/plastic_network.hpp"

namespace engram::plastic {

enum class Attack { fgsm, pgd, targeted };
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
  double adam_lr = 0.01;    // targeted: Adam's learning rate on the input
  std::uint64_t seed = 1;   // targeted: the wrong labels aimed at are keyed draws (seed, example index)
  double lower = -std::numeric_limits<double>::infinity();  // clip box of valid inputs
  double upper = std::numeric_limits<double>::infinity();
  void validate(const std::string& field = "attack") const;
};

std::vector<double> attack_input(const PlasticShape& shape, const PlasticWeights& w, const double* x, std::uint32_t label,
                                 const AttackOptions& options);
// The targeted attack towards `target` (!= label).
std::vector<double> targeted_input(const PlasticShape& shape, const PlasticWeights& w, const double* x, std::uint32_t target,
                                   const AttackOptions& options);
// The wrong label the targeted attack aims at for example `index` of true label `label`.
std::uint32_t attack_target(std::uint64_t seed, std::size_t index, std::uint32_t label, std::uint32_t labels);
// d L / d logits for L = CE(softmax(logits) taken as logits, target): the loss of BrainNet's attack.
double probability_cross_entropy(const std::vector<double>& logits, std::uint32_t target, std::vector<double>& dlogits);
double adversarial_accuracy(const PlasticShape& shape, const PlasticWeights& w, const Dataset& data,
                            const AttackOptions& options);

}  // namespace engram::plastic
