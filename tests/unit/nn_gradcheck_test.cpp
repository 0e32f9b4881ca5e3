// One harness for every nn op (ggml test-backend-ops style): each case lists its inputs, a
// forward and the analytic backward; the harness checks the backward against central finite
// differences in double precision (relative error of the whole gradient below the case's
// tolerance) for L = sum(out * w) with random w. To add an op, add a case to all_cases().
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engram/kernels/attention/flash_attention.hpp"
#include "engram/kernels/nn/activations.hpp"
#include "engram/kernels/nn/adamw.hpp"
#include "engram/kernels/nn/batch_norm.hpp"
#include "engram/kernels/nn/clip.hpp"
#include "engram/kernels/nn/dropout.hpp"
#include "engram/kernels/nn/layer_norm.hpp"
#include "engram/kernels/nn/linear.hpp"
#include "engram/kernels/nn/losses.hpp"
#include "engram/engine/backend/backend.hpp"
#include "unit/gradcheck.hpp"

namespace {

using engram::test::check_against_central_differences;
using engram::test::Inputs;
using engram::test::OpCase;
using engram::test::random_vec;
using engram::test::Vec;

using Vec = std::vector<double>;
using Inputs = std::vector<Vec>;
// linear_forward/backward's host interface: the backend's gemm on host pointers, loops for the rest.
struct Ops {
  engram::Backend& backend;
  template <class T>
  void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a, const T* b, T beta,
            T* c) {
    backend.gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
  }
  template <class F>
  void for_each(std::int64_t n, const F& f) {
    for (std::int64_t i = 0; i < n; ++i) f(i);
  }
};

// Values bounded away from 0, where ReLU-like kinks would break finite differences.
Vec away_from_zero(std::mt19937_64& rng, std::size_t n) {
  Vec v = random_vec(rng, n, 0.1, 1.5);
  std::bernoulli_distribution sign(0.5);
  for (double& x : v) x = sign(rng) ? x : -x;
  return v;
}

template <class F>
void each(std::int64_t n, const F& f) {
  for (std::int64_t i = 0; i < n; ++i) f(i);
}

std::vector<OpCase> all_cases(engram::Backend& backend) {
  std::mt19937_64 rng(20261123);
  std::vector<OpCase> cases;
  const std::int64_t R = 6, C = 5;

  {  // linear through the backend's gemm (all three transpose patterns the layer uses)
    const std::int64_t in = 7, out = 4;
    cases.push_back({"linear", {random_vec(rng, R * in), random_vec(rng, out * in), random_vec(rng, out)},
                     [&backend, in, out](const Inputs& x) {
                       Ops ops{backend};
                       Vec y(R * out);
                       engram::nn::linear_forward(ops, x[0].data(), x[1].data(), x[2].data(), y.data(), R, in, out);
                       return y;
                     },
                     [&backend, in, out](const Inputs& x, const Vec& dy) {
                       Ops ops{backend};
                       Inputs g{Vec(R * in), Vec(out * in, 0.0), Vec(out, 0.0)};
                       engram::nn::linear_backward(ops, x[0].data(), x[1].data(), dy.data(), g[0].data(), g[1].data(),
                                                   g[2].data(), R, in, out);
                       return g;
                     }});
  }
  auto elementwise = [&](const std::string& name, Vec x, auto fwd, auto bwd) {
    cases.push_back({name, {std::move(x)},
                     [fwd](const Inputs& in) {
                       Vec y(in[0].size());
                       each(static_cast<std::int64_t>(y.size()), fwd(in[0].data(), y.data()));
                       return y;
                     },
                     [bwd](const Inputs& in, const Vec& dy) {
                       Inputs g{Vec(in[0].size())};
                       each(static_cast<std::int64_t>(dy.size()), bwd(in[0].data(), dy.data(), g[0].data()));
                       return g;
                     }});
  };
  elementwise("gelu", random_vec(rng, R * C, -3, 3),
              [](const double* x, double* y) { return engram::nn::GeluForward<double>{x, y}; },
              [](const double* x, const double* dy, double* dx) { return engram::nn::GeluBackward<double>{x, dy, dx}; });
  elementwise("relu", away_from_zero(rng, R * C),
              [](const double* x, double* y) { return engram::nn::ReluForward<double>{x, y}; },
              [](const double* x, const double* dy, double* dx) { return engram::nn::ReluBackward<double>{x, dy, dx}; });
  elementwise("softplus", random_vec(rng, R * C, -25, 25),
              [](const double* x, double* y) { return engram::nn::SoftplusForward<double>{x, y}; },
              [](const double* x, const double* dy, double* dx) {
                return engram::nn::SoftplusBackward<double>{x, dy, dx};
              });
  {
    const engram::nn::DropoutKey key{77, 3, 9, 0.3};
    elementwise("dropout", random_vec(rng, R * C),
                [key](const double* x, double* y) { return engram::nn::DropoutForward<double>{x, y, key}; },
                [key](const double*, const double* dy, double* dx) {
                  return engram::nn::DropoutBackward<double>{dy, dx, key};
                });
  }
  cases.push_back({"prelu", {away_from_zero(rng, R * C), random_vec(rng, C, 0.05, 0.5)},
                   [](const Inputs& x) {
                     Vec y(R * C);
                     each(R * C, engram::nn::PreluForward<double>{x[0].data(), x[1].data(), y.data(), C});
                     return y;
                   },
                   [](const Inputs& x, const Vec& dy) {
                     Inputs g{Vec(R * C), Vec(C)};
                     each(R * C, engram::nn::PreluBackward<double>{x[0].data(), x[1].data(), dy.data(), g[0].data(), C});
                     each(C, engram::nn::PreluSlopeGrad<double>{x[0].data(), dy.data(), g[1].data(), R, C});
                     return g;
                   }});
  cases.push_back({"layer_norm", {random_vec(rng, R * C, -2, 2), random_vec(rng, C, 0.5, 1.5), random_vec(rng, C)},
                   [](const Inputs& x) {
                     Vec y(R * C), mean(R), rstd(R);
                     each(R, engram::nn::LayerNormForward<double>{x[0].data(), x[1].data(), x[2].data(), y.data(),
                                                                  mean.data(), rstd.data(), C, 1e-5});
                     return y;
                   },
                   [](const Inputs& x, const Vec& dy) {
                     Vec y(R * C), mean(R), rstd(R);
                     each(R, engram::nn::LayerNormForward<double>{x[0].data(), x[1].data(), x[2].data(), y.data(),
                                                                  mean.data(), rstd.data(), C, 1e-5});
                     Inputs g{Vec(R * C), Vec(C, 0.0), Vec(C, 0.0)};
                     each(R, engram::nn::LayerNormBackwardInput<double>{x[0].data(), x[1].data(), dy.data(), mean.data(),
                                                                        rstd.data(), g[0].data(), C});
                     each(C, engram::nn::LayerNormBackwardParams<double>{x[0].data(), dy.data(), mean.data(),
                                                                         rstd.data(), g[1].data(), g[2].data(), R, C});
                     return g;
                   }});
  cases.push_back({"batch_norm_train", {random_vec(rng, R * C, -2, 2), random_vec(rng, C, 0.5, 1.5), random_vec(rng, C)},
                   [](const Inputs& x) {
                     Vec y(R * C), mean(C), rstd(C);
                     each(C, engram::nn::BatchNormTrain<double>{x[0].data(), x[1].data(), x[2].data(), y.data(),
                                                                mean.data(), rstd.data(), nullptr, nullptr, R, C, 1e-5, 0.1});
                     return y;
                   },
                   [](const Inputs& x, const Vec& dy) {
                     Vec y(R * C), mean(C), rstd(C);
                     each(C, engram::nn::BatchNormTrain<double>{x[0].data(), x[1].data(), x[2].data(), y.data(),
                                                                mean.data(), rstd.data(), nullptr, nullptr, R, C, 1e-5, 0.1});
                     Inputs g{Vec(R * C), Vec(C, 0.0), Vec(C, 0.0)};
                     each(C, engram::nn::BatchNormTrainBackward<double>{x[0].data(), x[1].data(), dy.data(), mean.data(),
                                                                        rstd.data(), g[0].data(), g[1].data(), g[2].data(),
                                                                        R, C});
                     return g;
                   }});
  {
    const Vec run_mean = random_vec(rng, C), run_var = random_vec(rng, C, 0.5, 2.0);
    cases.push_back({"batch_norm_eval", {random_vec(rng, R * C, -2, 2), random_vec(rng, C, 0.5, 1.5), random_vec(rng, C)},
                     [run_mean, run_var](const Inputs& x) {
                       Vec y(R * C);
                       each(R * C, engram::nn::BatchNormEval<double>{x[0].data(), x[1].data(), x[2].data(), run_mean.data(),
                                                                     run_var.data(), y.data(), C, 1e-5});
                       return y;
                     },
                     [run_mean, run_var](const Inputs& x, const Vec& dy) {
                       Inputs g{Vec(R * C), Vec(C, 0.0), Vec(C, 0.0)};
                       each(C, engram::nn::BatchNormEvalBackward<double>{x[0].data(), x[1].data(), run_mean.data(),
                                                                         run_var.data(), dy.data(), g[0].data(),
                                                                         g[1].data(), g[2].data(), R, C, 1e-5});
                       return g;
                     }});
  }
  {  // losses: the case's output is the mean loss, a single number
    std::vector<std::int32_t> labels(R);
    for (std::int64_t r = 0; r < R; ++r) labels[r] = static_cast<std::int32_t>((r * 3) % C);
    cases.push_back({"softmax_cross_entropy", {random_vec(rng, R * C, -3, 3)},
                     [labels](const Inputs& x) {
                       Vec loss(R);
                       each(R, engram::nn::SoftmaxCrossEntropy<double>{x[0].data(), labels.data(), loss.data(), nullptr,
                                                                       C, 1.0 / R});
                       double sum = 0;
                       for (double l : loss) sum += l / R;
                       return Vec{sum};
                     },
                     [labels](const Inputs& x, const Vec& dout) {
                       Vec loss(R);
                       Inputs g{Vec(R * C)};
                       each(R, engram::nn::SoftmaxCrossEntropy<double>{x[0].data(), labels.data(), loss.data(),
                                                                       g[0].data(), C, dout[0] / R});
                       return g;
                     }});
    const Vec counts = [&] {
      Vec c(R * C);
      std::poisson_distribution<int> p(2.0);
      for (double& v : c) v = p(rng);
      return c;
    }();
    const Vec target = random_vec(rng, R * C);
    auto mean_loss = [](auto make_kernel, const Inputs& x, double scale, Vec* grad) {
      Vec loss(x[0].size());
      each(static_cast<std::int64_t>(loss.size()), make_kernel(x, loss.data(), grad ? grad->data() : nullptr, scale));
      double sum = 0;
      for (double l : loss) sum += l / static_cast<double>(loss.size());
      return sum;
    };
    auto poisson = [counts](const Inputs& x, double* loss, double* grad, double scale) {
      return engram::nn::PoissonNll<double>{x[0].data(), counts.data(), loss, grad, scale};
    };
    auto mse = [target](const Inputs& x, double* loss, double* grad, double scale) {
      return engram::nn::MeanSquaredError<double>{x[0].data(), target.data(), loss, grad, scale};
    };
    cases.push_back({"poisson_nll", {random_vec(rng, R * C, -2, 2)},
                     [=](const Inputs& x) { return Vec{mean_loss(poisson, x, 0.0, nullptr)}; },
                     [=](const Inputs& x, const Vec& dout) {
                       Inputs g{Vec(x[0].size())};
                       mean_loss(poisson, x, dout[0] / static_cast<double>(x[0].size()), &g[0]);
                       return g;
                     }});
    cases.push_back({"mse", {random_vec(rng, R * C)},
                     [=](const Inputs& x) { return Vec{mean_loss(mse, x, 0.0, nullptr)}; },
                     [=](const Inputs& x, const Vec& dout) {
                       Inputs g{Vec(x[0].size())};
                       mean_loss(mse, x, dout[0] / static_cast<double>(x[0].size()), &g[0]);
                       return g;
                     }});
  }
  cases.push_back({"cosine_similarity", {random_vec(rng, R * C), random_vec(rng, R * C)},
                   [](const Inputs& x) {
                     Vec out(R);
                     each(R, engram::nn::CosineSimilarity<double>{x[0].data(), x[1].data(), out.data(), nullptr, nullptr,
                                                                  nullptr, C, 1e-8});
                     return out;
                   },
                   [](const Inputs& x, const Vec& dout) {
                     Vec out(R);
                     Inputs g{Vec(R * C), Vec(R * C)};
                     each(R, engram::nn::CosineSimilarity<double>{x[0].data(), x[1].data(), out.data(), dout.data(),
                                                                  g[0].data(), g[1].data(), C, 1e-8});
                     return g;
                   }});
  {  // attention: ragged packed sequences, a padded key and the causal mask, 2 heads of dim 16
    static const std::vector<std::int64_t> offsets = {0, 5, 6, 13};
    static const std::vector<std::uint8_t> valid = {1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1};
    const std::int64_t H = 2, D = 16, total = 13;
    for (bool causal : {false, true}) {
      const engram::attention::AttentionShape shape{offsets.data(), offsets.data(), 3, H, D, causal,
                                                    valid.data(), 0.25f};
      const std::size_t n = static_cast<std::size_t>(total * H * D);
      cases.push_back({causal ? "attention_causal" : "attention_padded",
                       {random_vec(rng, n), random_vec(rng, n), random_vec(rng, n)},
                       [=](const Inputs& x) {
                         Vec o(n), lse(static_cast<std::size_t>(total * H));
                         each(engram::attention::work_items(total, H), engram::attention::AttentionForward<double>{shape, x[0].data(), x[1].data(),
                                                                                    x[2].data(), o.data(), lse.data()});
                         return o;
                       },
                       [=](const Inputs& x, const Vec& dout) {
                         Vec o(n), lse(static_cast<std::size_t>(total * H)), delta(lse.size());
                         each(engram::attention::work_items(total, H), engram::attention::AttentionForward<double>{shape, x[0].data(), x[1].data(),
                                                                                    x[2].data(), o.data(), lse.data()});
                         Inputs g{Vec(n), Vec(n), Vec(n)};
                         const engram::attention::AttentionBackward<double> b{
                             shape, x[0].data(), x[1].data(), x[2].data(), o.data(), lse.data(), dout.data(),
                             delta.data(), g[0].data(), g[1].data(), g[2].data(), total};
                         each(engram::attention::work_items(total, H), engram::attention::AttentionBackwardQueryPass<double>{b});
                         each(engram::attention::work_items(total, H), engram::attention::AttentionBackwardKeyPass<double>{b});
                         return g;
                       }});
    }
  }
  return cases;
}

TEST(NnGradcheck, EveryOpMatchesCentralDifferences) {
  auto backend = engram::make_backend("cpu");
  const auto cases = all_cases(*backend);
  ASSERT_GE(cases.size(), 15u);
  for (const OpCase& c : cases) check_against_central_differences(c);
}

TEST(NnGradcheck, DropoutMaskIsReproducibleAndHasTheRightRate) {
  const engram::nn::DropoutKey key{5, 1, 2, 0.5};
  std::int64_t kept = 0;
  const std::int64_t n = 20000;
  for (std::int64_t i = 0; i < n; ++i) {
    const float s = key.scale<float>(i);
    EXPECT_EQ(s, key.scale<float>(i));
    ASSERT_TRUE(s == 0.0f || s == 2.0f);
    kept += s > 0 ? 1 : 0;
  }
  EXPECT_NEAR(static_cast<double>(kept) / n, 0.5, 0.015);
  engram::nn::DropoutKey other = key;
  other.step = 3;
  int differ = 0;
  for (std::int64_t i = 0; i < 64; ++i) differ += key.scale<float>(i) != other.scale<float>(i) ? 1 : 0;
  EXPECT_GT(differ, 10);
}

}  // namespace

namespace {

TEST(NnGradcheck, ClippingScalesToTheMaximumNormOnlyWhenAbove) {
  std::vector<float> a = {3.0f, 0.0f}, b = {0.0f, 4.0f};  // global norm 5
  const double norm = engram::nn::clip_grad_norm<float>({{a.data(), 2}, {b.data(), 2}}, 1.0);
  EXPECT_DOUBLE_EQ(norm, 5.0);
  EXPECT_NEAR(a[0], 3.0 / (5.0 + 1e-6), 1e-6);
  EXPECT_NEAR(b[1], 4.0 / (5.0 + 1e-6), 1e-6);
  std::vector<float> c = {0.3f, 0.4f};
  EXPECT_NEAR(engram::nn::clip_grad_norm<float>({{c.data(), 2}}, 1.0), 0.5, 1e-7);
  EXPECT_EQ(c[0], 0.3f);  // below the limit: untouched
}

TEST(NnGradcheck, AdamWWithWeightDecayMatchesTheClosedFormFirstStep) {
  // Step 1: m_hat = g, v_hat = g^2, so the Adam part moves by lr * g / (|g| + eps).
  engram::nn::AdamWConfig config{0.1, 0.9, 0.999, 1e-8, 0.5};
  std::vector<double> p = {1.0, -2.0}, g = {0.5, -3.0};
  engram::nn::AdamWState<double> state;
  engram::nn::adamw_host_step(p, g, state, config);
  EXPECT_NEAR(p[0], 1.0 - 0.1 * 0.5 * 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-12);
  EXPECT_NEAR(p[1], -2.0 - 0.1 * 0.5 * -2.0 + 0.1 * 3.0 / (3.0 + 1e-8), 1e-12);
}

}  // namespace
