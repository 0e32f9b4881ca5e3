#include "engram/models/plasticity/adversarial.hpp"

#include <algorithm>
#include <limits>
#include <cmath>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/plasticity/purposes.hpp"

namespace engram::plastic {

namespace {
// The targeted attack's wrong labels: a data stream of its own (purpose plasticity_data, step =
// stream), index = the example's position in the attacked set.
constexpr std::uint32_t kAttackTargetStream = 0xA77AC000u;
}  // namespace

Attack parse_attack(const std::string& name, const std::string& field) {
  if (name == "fgsm") return Attack::fgsm;
  if (name == "pgd") return Attack::pgd;
  if (name == "targeted") return Attack::targeted;
  throw Error::bad_input(field, name, "must be fgsm, pgd or targeted");
}

const char* attack_name(Attack a) { return a == Attack::fgsm ? "fgsm" : (a == Attack::pgd ? "pgd" : "targeted"); }

Norm parse_norm(const std::string& name, const std::string& field) {
  if (name == "linf") return Norm::linf;
  if (name == "l2") return Norm::l2;
  throw Error::bad_input(field, name, "must be linf or l2");
}

const char* norm_name(Norm n) { return n == Norm::linf ? "linf" : "l2"; }

namespace {

// The unit step direction of the norm: sign(g) for linf, g / |g|_2 for l2 (0 where g is 0).
void step_direction(Norm norm, const std::vector<double>& g, std::vector<double>& u) {
  u.assign(g.size(), 0.0);
  if (norm == Norm::linf) {
    for (std::size_t k = 0; k < g.size(); ++k) u[k] = g[k] > 0.0 ? 1.0 : (g[k] < 0.0 ? -1.0 : 0.0);
    return;
  }
  double sq = 0.0;
  for (double v : g) sq += v * v;
  if (sq == 0.0) return;
  const double inv = 1.0 / std::sqrt(sq);
  for (std::size_t k = 0; k < g.size(); ++k) u[k] = g[k] * inv;
}

// Projects adv onto the eps-ball of the norm around x, then onto the box [lower, upper]. For x in
// the box the second projection moves each coordinate towards x, so the result stays in the ball.
void project(const AttackOptions& o, const double* x, std::vector<double>& adv) {
  const std::size_t d = adv.size();
  if (o.norm == Norm::linf) {
    for (std::size_t k = 0; k < d; ++k) adv[k] = std::clamp(adv[k], x[k] - o.epsilon, x[k] + o.epsilon);
  } else {
    double sq = 0.0;
    for (std::size_t k = 0; k < d; ++k) sq += (adv[k] - x[k]) * (adv[k] - x[k]);
    if (sq > o.epsilon * o.epsilon) {
      const double shrink = o.epsilon / std::sqrt(sq);
      for (std::size_t k = 0; k < d; ++k) adv[k] = x[k] + (adv[k] - x[k]) * shrink;
    }
  }
  for (std::size_t k = 0; k < d; ++k) adv[k] = std::clamp(adv[k], o.lower, o.upper);
}

}  // namespace

void AttackOptions::validate(const std::string& field) const {
  if (!std::isfinite(epsilon) || epsilon < 0.0) throw Error::bad_input(field + ".epsilon", to_text(epsilon), "must be finite and >= 0");
  if (attack != Attack::fgsm && steps == 0) throw Error::bad_input(field + ".steps", "0", "PGD and targeted need at least one step");
  if (!(adam_lr > 0.0) || !std::isfinite(adam_lr)) throw Error::bad_input(field + ".adam_lr", to_text(adam_lr), "must be finite and > 0");
  if (!std::isfinite(step_size) || step_size < 0.0) throw Error::bad_input(field + ".step_size", to_text(step_size), "must be finite and >= 0");
  if (!(lower < upper)) throw Error::bad_input(field + ".clip", to_text(lower) + ".." + to_text(upper), "lower must be below upper");
}

std::uint32_t attack_target(std::uint64_t seed, std::size_t index, std::uint32_t label, std::uint32_t labels) {
  RngStream rng({seed, 0, purpose::plasticity_data, kAttackTargetStream, static_cast<std::uint32_t>(index)});
  const auto t = static_cast<std::uint32_t>(rng.next_u64() % (labels - 1));
  return t >= label ? t + 1 : t;
}

double probability_cross_entropy(const std::vector<double>& logits, std::uint32_t target, std::vector<double>& dlogits) {
  const std::size_t m = logits.size();
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(m);
  double sum = 0.0;
  for (std::size_t c = 0; c < m; ++c) sum += (p[c] = std::exp(logits[c] - top));
  for (double& v : p) v /= sum;
  // The outer cross-entropy takes p as logits: its gradient is softmax(p) - onehot(target) ...
  std::vector<double> dp;
  const double loss = cross_entropy(p, target, &dp);
  // ... and the inner softmax's Jacobian, diag(p) - p p^T, carries it to the logits.
  double dot = 0.0;
  for (std::size_t c = 0; c < m; ++c) dot += p[c] * dp[c];
  dlogits.resize(m);
  for (std::size_t c = 0; c < m; ++c) dlogits[c] = p[c] * (dp[c] - dot);
  return loss;
}

std::vector<double> targeted_input(const PlasticShape& s, const PlasticWeights& w, const double* x, std::uint32_t target,
                                   const AttackOptions& o) {
  const std::size_t d = s.inputs;
  std::vector<double> adv(x, x + d);
  if (o.epsilon <= 1e-5) return adv;  // as AdversarialExamples.py
  std::vector<double> m(d, 0.0), v(d, 0.0), dlogits;
  constexpr double beta1 = 0.9, beta2 = 0.999, adam_eps = 1e-8;  // torch.optim.Adam's defaults
  Gradients g;
  g.resize(s);
  for (std::uint32_t step = 1;; ++step) {
    for (std::size_t k = 0; k < d; ++k) adv[k] = std::clamp(adv[k], o.lower, o.upper);
    double sq = 0.0;
    for (std::size_t k = 0; k < d; ++k) sq += (adv[k] - x[k]) * (adv[k] - x[k]);
    if (std::sqrt(sq) > o.epsilon) break;
    const Trace t = forward(s, w, adv.data());
    if (t.predicted == target || step == o.steps) break;
    probability_cross_entropy(t.logits, target, dlogits);
    g.zero();
    backpropagate(s, w, adv.data(), t, dlogits, g);
    const double c1 = 1.0 - std::pow(beta1, step), c2 = 1.0 - std::pow(beta2, step);
    for (std::size_t k = 0; k < d; ++k) {
      m[k] = beta1 * m[k] + (1.0 - beta1) * g.x[k];
      v[k] = beta2 * v[k] + (1.0 - beta2) * g.x[k] * g.x[k];
      adv[k] -= o.adam_lr * (m[k] / c1) / (std::sqrt(v[k] / c2) + adam_eps);
    }
  }
  return adv;
}

std::vector<double> attack_input(const PlasticShape& s, const PlasticWeights& w, const double* x, std::uint32_t label,
                                 const AttackOptions& o) {
  if (o.attack == Attack::targeted) throw Error::bad_input("attack", "targeted", "needs a target: call targeted_input");
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
  std::vector<double> best, direction;
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
    step_direction(o.norm, g.x, direction);
    for (std::size_t k = 0; k < d; ++k) adv[k] += step * direction[k];
    project(o, x, adv);
  }
  if (o.attack == Attack::pgd) keep_if_best(cross_entropy(forward(s, w, adv.data()).logits, label));
  return o.attack == Attack::pgd ? best : adv;
}

double adversarial_accuracy(const PlasticShape& s, const PlasticWeights& w, const Dataset& data, const AttackOptions& o) {
  o.validate();
  data.check(s);
  if (o.attack == Attack::targeted && s.labels < 2) throw Error::bad_input("attack.kinds", "targeted", "needs at least 2 labels");
  if (data.size() == 0) return 0.0;
  // Samples are attacked independently and the count is an integer sum, so the figure does not
  // depend on the thread count.
  std::int64_t correct = 0;
  const auto n = static_cast<std::int64_t>(data.size());
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : correct) if (n > 8)
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    const std::vector<double> adv =
        o.attack == Attack::targeted
            ? targeted_input(s, w, data.sample(k), attack_target(o.seed, k, data.y[k], s.labels), o)
            : attack_input(s, w, data.sample(k), data.y[k], o);
    correct += forward(s, w, adv.data()).predicted == data.y[k] ? 1 : 0;
  }
  return static_cast<double>(correct) / static_cast<double>(data.size());
}

}  // namespace engram::plastic
