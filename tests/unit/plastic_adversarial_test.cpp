// FGSM and PGD through the plastic network: the attack must lower the accuracy of a
// gradient-trained network as epsilon grows (a sanity check of the attack itself), stay inside
// the epsilon-ball, and PGD must be at least as strong as FGSM on every sample.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "engram/engine/error.hpp"
#include "engram/models/plasticity/adversarial.hpp"
#include "engram/models/plasticity/gradient_training.hpp"
#include "engram/models/plasticity/plastic_data.hpp"

namespace engram::plastic {
namespace {

struct Trained {
  PlasticShape shape{10, 40, 2, 20, 1, 0.5};
  PlasticWeights w;
  Dataset test;
};

const Trained& trained() {
  static const Trained t = [] {
    Trained r;
    r.w = random_weights(r.shape, 3, 0);
    GradientTraining g;
    g.epochs = 8;
    train_by_gradient(r.shape, r.w, halfspace_data(10, 400, 3, 0), g);
    r.test = halfspace_data(10, 150, 3, 1);
    return r;
  }();
  return t;
}

TEST(Adversarial, AttackLowersAccuracyOfGradientTrainedNetAsEpsilonGrows) {
  const Trained& t = trained();
  const double clean = accuracy(t.shape, t.w, t.test);
  EXPECT_GT(clean, 0.8);  // the baseline learned the task
  for (Attack a : {Attack::fgsm, Attack::pgd}) {
    double previous = 1.0;
    std::vector<double> curve;
    for (double eps : {0.0, 0.1, 0.3, 1.0}) {
      AttackOptions o;
      o.attack = a;
      o.epsilon = eps;
      const double acc = adversarial_accuracy(t.shape, t.w, t.test, o);
      curve.push_back(acc);
      EXPECT_LE(acc, previous + 0.02) << attack_name(a) << " eps " << eps;
      previous = acc;
    }
    EXPECT_DOUBLE_EQ(curve[0], clean);
    EXPECT_LT(curve.back(), clean - 0.3) << attack_name(a);
  }
}

TEST(Adversarial, StaysInTheBallAndPgdIsAtLeastAsStrong) {
  const Trained& t = trained();
  // Both attacks get the same ball and the same box, so "at least as strong" compares like with like.
  AttackOptions fgsm{Attack::fgsm, 0.2};
  fgsm.lower = -2.5;
  fgsm.upper = 2.5;
  AttackOptions pgd = fgsm;
  pgd.attack = Attack::pgd;
  pgd.steps = 10;
  double loss_fgsm = 0, loss_pgd = 0;
  for (std::size_t i = 0; i < 40; ++i) {
    const double* x = t.test.sample(i);
    const std::vector<double> a = attack_input(t.shape, t.w, x, t.test.y[i], fgsm);
    const std::vector<double> b = attack_input(t.shape, t.w, x, t.test.y[i], pgd);
    for (std::size_t k = 0; k < 10; ++k) {
      EXPECT_GE(a[k], -2.5);
      EXPECT_LE(a[k], 2.5);
      EXPECT_GE(b[k], -2.5);
      EXPECT_LE(b[k], 2.5);
      // The box wins over the ball for a feature that starts outside the box.
      if (std::fabs(x[k]) <= 2.5) {
        EXPECT_LE(std::fabs(a[k] - x[k]), 0.2 + 1e-12);
        EXPECT_LE(std::fabs(b[k] - x[k]), 0.2 + 1e-12);
      }
    }
    const double fgsm_loss = cross_entropy(forward(t.shape, t.w, a.data()).logits, t.test.y[i]);
    const double pgd_loss = cross_entropy(forward(t.shape, t.w, b.data()).logits, t.test.y[i]);
    EXPECT_GE(pgd_loss, fgsm_loss) << "sample " << i << ": PGD visits FGSM's point and keeps its best iterate";
    loss_fgsm += fgsm_loss;
    loss_pgd += pgd_loss;
  }
  std::printf("mean cross-entropy over 40 test samples: FGSM %.4f, PGD %.4f\n", loss_fgsm / 40, loss_pgd / 40);
  EXPECT_GT(loss_pgd, loss_fgsm) << "the refining steps must find more than FGSM on some samples";
}

TEST(Adversarial, L2FastGradientIsTheNormalisedGradientStep) {
  // The L2 attacks of Cristian et al.'s experiment: FGSM moves eps along grad / |grad|_2 (checked
  // against the gradient from backward() directly), PGD stays in the L2 ball and the box and is
  // never weaker than FGSM.
  const Trained& t = trained();
  AttackOptions fgsm{Attack::fgsm, 0.7};
  fgsm.norm = Norm::l2;
  AttackOptions pgd = fgsm;
  pgd.attack = Attack::pgd;
  pgd.steps = 10;
  pgd.lower = -2.0;
  pgd.upper = 2.0;
  double loss_fgsm = 0, loss_pgd = 0;
  for (std::size_t i = 0; i < 40; ++i) {
    const double* x = t.test.sample(i);
    Gradients g;
    g.resize(t.shape);
    g.zero();
    backward(t.shape, t.w, x, t.test.y[i], g);
    double norm = 0.0;
    for (double v : g.x) norm += v * v;
    norm = std::sqrt(norm);
    ASSERT_GT(norm, 0.0);
    const std::vector<double> a = attack_input(t.shape, t.w, x, t.test.y[i], fgsm);
    double moved = 0.0;
    for (std::size_t k = 0; k < 10; ++k) {
      EXPECT_NEAR(a[k], x[k] + 0.7 * g.x[k] / norm, 1e-12) << "sample " << i << " feature " << k;
      moved += (a[k] - x[k]) * (a[k] - x[k]);
    }
    EXPECT_NEAR(std::sqrt(moved), 0.7, 1e-12);
    AttackOptions boxed = fgsm;
    boxed.lower = -2.0;
    boxed.upper = 2.0;
    const std::vector<double> fb = attack_input(t.shape, t.w, x, t.test.y[i], boxed);
    const std::vector<double> b = attack_input(t.shape, t.w, x, t.test.y[i], pgd);
    double dist = 0.0;
    for (std::size_t k = 0; k < 10; ++k) {
      EXPECT_GE(b[k], -2.0);
      EXPECT_LE(b[k], 2.0);
      dist += (b[k] - x[k]) * (b[k] - x[k]);
    }
    bool inside = true;
    for (std::size_t k = 0; k < 10; ++k) inside = inside && std::fabs(x[k]) <= 2.0;
    if (inside) {
      EXPECT_LE(std::sqrt(dist), 0.7 + 1e-12) << "sample " << i;
    }
    const double lf = cross_entropy(forward(t.shape, t.w, fb.data()).logits, t.test.y[i]);
    const double lp = cross_entropy(forward(t.shape, t.w, b.data()).logits, t.test.y[i]);
    EXPECT_GE(lp, lf) << "sample " << i;
    loss_fgsm += lf;
    loss_pgd += lp;
  }
  std::printf("L2, eps 0.7, mean cross-entropy over 40 test samples: FGSM %.4f, PGD %.4f\n", loss_fgsm / 40, loss_pgd / 40);
  EXPECT_GT(loss_pgd, loss_fgsm);
  EXPECT_THROW(parse_norm("l1", "attack.norm"), Error);
}

TEST(Adversarial, ProbabilityCrossEntropyGradientMatchesFiniteDifferences) {
  // BrainNet's attack loss, CE(softmax(z) taken as logits, t): its gradient in z against central
  // differences of the loss itself, at moderate and at saturated logits (where it vanishes).
  for (double scale : {1.0, 30.0}) {
    std::vector<double> z{0.3, -1.2, 2.0, 0.7};
    for (double& v : z) v *= scale;
    std::vector<double> grad, unused;
    probability_cross_entropy(z, 1, grad);
    for (std::size_t c = 0; c < z.size(); ++c) {
      std::vector<double> up = z, down = z;
      up[c] += 1e-6;
      down[c] -= 1e-6;
      const double fd = (probability_cross_entropy(up, 1, unused) - probability_cross_entropy(down, 1, unused)) / 2e-6;
      EXPECT_NEAR(grad[c], fd, 1e-8) << "scale " << scale << " logit " << c;
    }
    double norm = 0.0;
    for (double v : grad) norm += v * v;
    std::printf("logit scale %.0f: |d CE(softmax(z)) / dz| = %.3g\n", scale, std::sqrt(norm));
    if (scale > 1.0) {
      EXPECT_LT(std::sqrt(norm), 1e-9) << "saturated softmax: the doubly-softmaxed loss is flat";
    }
  }
}

TEST(Adversarial, TargetedAttackStopsAtTheTargetOrTheBudget) {
  const Trained& t = trained();
  AttackOptions o{Attack::targeted, 0.8};
  o.steps = 100;
  std::size_t reached = 0, stalled = 0;
  for (std::size_t i = 0; i < 40; ++i) {
    const double* x = t.test.sample(i);
    const std::uint32_t target = attack_target(3, i, t.test.y[i], 2);
    ASSERT_NE(target, t.test.y[i]);
    const std::vector<double> a = targeted_input(t.shape, t.w, x, target, o);
    double dist = 0.0;
    for (std::size_t k = 0; k < 10; ++k) dist += (a[k] - x[k]) * (a[k] - x[k]);
    dist = std::sqrt(dist);
    // The budget is checked before each step, so the last one may overshoot it; an Adam step moves
    // a coordinate by at most ~3.2 lr ((1 - beta1) / sqrt(1 - beta2)).
    EXPECT_LE(dist, 0.8 + 3.2 * 0.01 * std::sqrt(10.0)) << "sample " << i;
    const bool hit = forward(t.shape, t.w, a.data()).predicted == target;
    reached += hit;
    stalled += !hit && dist < 0.4;
  }
  // Stalled: 99 Adam steps that moved the input by less than half the budget without reaching the
  // target: a confident sample, whose doubly-softmaxed gradient is too small for Adam's 1e-8.
  std::printf("targeted, L2 eps 0.8: %zu of 40 reach their target, %zu stall inside the ball\n", reached, stalled);
  EXPECT_GT(reached, 10u);
  for (std::uint32_t y = 0; y < 10; ++y) {
    for (std::size_t i = 0; i < 50; ++i) EXPECT_NE(attack_target(1, i, y, 10), y);
  }
}

TEST(Adversarial, BadOptionsNameTheField) {
  AttackOptions o;
  o.epsilon = -0.1;
  try {
    o.validate();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("attack.epsilon = -0.1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_attack("cw", "attack.kinds"), Error);
}

}  // namespace
}  // namespace engram::plastic
