#include "engram/models/plasticity/adversarial.hpp"

#include <algorithm>
#include <limits>
#include <cmath>

#include "engram/engine/error.hpp"

namespace engram::plastic {

Attack parse_attack(const std::string& name, const std::string& field) {
  if (name == "fgsm") return Attack::fgsm;
  if (name == "pgd") return Attack::pgd;
  throw Error::bad_input(field, name, "must be fgsm or pgd");
}

const char* attack_name(Attack a) { return a == Attack::fgsm ? "fgsm" : "pgd"; }

void AttackOptions::validate(const std::string& field) const {
  if (!std::isfinite(epsilon) || epsilon < 0.0) throw Error::bad_input(field + ".epsilon", to_text(epsilon), "must be finite and >= 0");
  if (attack == Attack::pgd && steps == 0) throw Error::bad_input(field + ".steps", "0", "PGD needs at least one step");
  if (!std::isfinite(step_size) || step_size < 0.0) throw Error::bad_input(field + ".step_size", to_text(step_size), "must be finite and >= 0");
  if (!(lower < upper)) throw Error::bad_input(field + ".clip", to_text(lower) + ".." + to_text(upper), "lower must be below upper");
}

std::vector<double> attack_input(const PlasticShape& s, const PlasticWeights& w, const double* x, std::uint32_t label,
                                 const AttackOptions& o) {
  const std::size_t d = s.inputs;
  std::vector<double> adv(x, x + d);
  if (o.epsilon == 0.0) return adv;
  Gradients g;
  g.resize(s);
  const std::uint32_t steps = o.attack == Attack::fgsm ? 1 : o.steps;
  const double size = o.attack == Attack::fgsm ? o.epsilon : (o.step_size > 0.0 ? o.step_size : 2.5 * o.epsilon / steps);
  // PGD's loss is not monotone along its path (the k-cap switches winners between steps), so it
  // returns the iterate of highest loss, as robustness evaluations do (Croce & Hein 2020): the
  // attack is then never weaker than any point it visited.
  std::vector<double> best;
  double best_loss = -std::numeric_limits<double>::infinity();
  // With the default schedule PGD's first step has FGSM's size, so it visits FGSM's point and
  // then refines from there with smaller steps.
  const bool fgsm_first = o.attack == Attack::pgd && o.step_size == 0.0;
  const auto keep_if_best = [&](double loss) {
    if (loss > best_loss) {
      best_loss = loss;
      best = adv;
    }
  };
  for (std::uint32_t t = 0; t < steps; ++t) {
    g.zero();
    // The backward pass that starts a step returns the loss of the previous iterate, so only the
    // last iterate needs a forward pass of its own.
    const double loss = backward(s, w, adv.data(), label, g);
    if (o.attack == Attack::pgd && t > 0) keep_if_best(loss);
    const double step = fgsm_first && t == 0 ? o.epsilon : size;
    for (std::size_t k = 0; k < d; ++k) {
      const double sign = g.x[k] > 0.0 ? 1.0 : (g.x[k] < 0.0 ? -1.0 : 0.0);
      const double moved = std::clamp(adv[k] + step * sign, x[k] - o.epsilon, x[k] + o.epsilon);
      adv[k] = std::clamp(moved, o.lower, o.upper);
    }
  }
  if (o.attack == Attack::pgd) keep_if_best(cross_entropy(forward(s, w, adv.data()).logits, label));
  return o.attack == Attack::pgd ? best : adv;
}

double adversarial_accuracy(const PlasticShape& s, const PlasticWeights& w, const Dataset& data, const AttackOptions& o) {
  o.validate();
  data.check(s);
  if (data.size() == 0) return 0.0;
  std::size_t correct = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::vector<double> adv = attack_input(s, w, data.sample(i), data.y[i], o);
    correct += forward(s, w, adv.data()).predicted == data.y[i];
  }
  return static_cast<double>(correct) / static_cast<double>(data.size());
}

}  // namespace engram::plastic
