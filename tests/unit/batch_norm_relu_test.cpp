// The fused batch norm + ReLU kernels (nn::BatchNormReluTrain / BatchNormReluBackward, channel
// blocks walked row by row) against the per-channel scalar kernels they replace
// (BatchNormTrain, ReluForward, ReluBackward, BatchNormTrainBackward, BiasGrad, each
// gradient-checked in nn_gradcheck_test.cpp): the same bits for every block width, ragged
// channel counts included, in float and double.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engram/kernels/nn/activations.hpp"
#include "engram/kernels/nn/batch_norm.hpp"
#include "engram/kernels/nn/linear.hpp"

namespace {

template <class T>
std::vector<T> random_values(std::size_t n, std::mt19937& gen, double scale, double shift) {
  std::normal_distribution<double> normal(shift, scale);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(normal(gen));
  return v;
}

template <class T>
void expect_same_bits(const std::vector<T>& want, const std::vector<T>& got, const char* what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(0, std::memcmp(&want[i], &got[i], sizeof(T))) << what << "[" << i << "]: " << want[i] << " vs " << got[i];
  }
}

template <class T>
void check_shape(std::int64_t rows, std::int64_t channels, std::int64_t block, bool running, std::uint32_t seed) {
  SCOPED_TRACE(::testing::Message() << "rows " << rows << " channels " << channels << " block " << block);
  std::mt19937 gen(seed);
  const auto n = static_cast<std::size_t>(rows * channels), c = static_cast<std::size_t>(channels);
  const auto x = random_values<T>(n, gen, 2.0, 0.5);
  const auto gamma = random_values<T>(c, gen, 0.5, 1.0);
  const auto beta = random_values<T>(c, gen, 0.5, 0.0);
  const auto dy = random_values<T>(n, gen, 1.0, 0.0);
  const auto grad_start = random_values<T>(3 * c, gen, 1.0, 0.0);  // dgamma, dbeta, dbias accumulate onto these
  const T eps = T(1e-5), momentum = T(0.1);

  // Reference: the per-channel kernels, one after another.
  std::vector<T> normed(n), y_ref(n), mean_ref(c), rstd_ref(c), rm_ref(c, T(0.25)), rv_ref(c, T(1.5));
  for (std::int64_t ch = 0; ch < channels; ++ch) {
    engram::nn::BatchNormTrain<T>{x.data(), gamma.data(), beta.data(), normed.data(), mean_ref.data(), rstd_ref.data(),
                                  running ? rm_ref.data() : nullptr, running ? rv_ref.data() : nullptr, rows, channels, eps,
                                  momentum}(ch);
  }
  for (std::size_t i = 0; i < n; ++i) engram::nn::ReluForward<T>{normed.data(), y_ref.data()}(static_cast<std::int64_t>(i));
  std::vector<T> dpre(n), dx_ref(n), grads_ref = grad_start;
  for (std::size_t i = 0; i < n; ++i) engram::nn::ReluBackward<T>{normed.data(), dy.data(), dpre.data()}(static_cast<std::int64_t>(i));
  for (std::int64_t ch = 0; ch < channels; ++ch) {
    engram::nn::BatchNormTrainBackward<T>{x.data(), gamma.data(), dpre.data(), mean_ref.data(), rstd_ref.data(),
                                          dx_ref.data(), grads_ref.data(), grads_ref.data() + c, rows, channels}(ch);
  }
  for (std::int64_t ch = 0; ch < channels; ++ch) {
    engram::nn::BiasGrad<T>{dx_ref.data(), grads_ref.data() + 2 * c, rows, channels}(ch);
  }

  // Fused, blocks in reverse order (items are independent).
  std::vector<T> y(n, T(-7)), mean(c), rstd(c), rm(c, T(0.25)), rv(c, T(1.5));
  const std::int64_t blocks = (channels + block - 1) / block;
  for (std::int64_t b = blocks; b-- > 0;) {
    engram::nn::BatchNormReluTrain<T>{x.data(), gamma.data(), beta.data(), y.data(), mean.data(), rstd.data(),
                                      running ? rm.data() : nullptr, running ? rv.data() : nullptr, rows, channels, block,
                                      eps, momentum}(b);
  }
  expect_same_bits(y_ref, y, "y");
  expect_same_bits(mean_ref, mean, "mean");
  expect_same_bits(rstd_ref, rstd, "rstd");
  expect_same_bits(rm_ref, rm, "running_mean");
  expect_same_bits(rv_ref, rv, "running_var");
  std::vector<T> dx(n, T(-7)), grads = grad_start;
  for (std::int64_t b = blocks; b-- > 0;) {
    engram::nn::BatchNormReluBackward<T>{x.data(), y.data(), gamma.data(), dy.data(), mean.data(), rstd.data(), dx.data(),
                                         grads.data(), grads.data() + c, grads.data() + 2 * c, rows, channels, block}(b);
  }
  expect_same_bits(dx_ref, dx, "dx");
  expect_same_bits(grads_ref, grads, "dgamma, dbeta, dbias");
  // Without dbias the bias slots stay untouched.
  std::vector<T> grads_no_bias = grad_start;
  for (std::int64_t b = 0; b < blocks; ++b) {
    engram::nn::BatchNormReluBackward<T>{x.data(), y.data(), gamma.data(), dy.data(), mean.data(), rstd.data(), dx.data(),
                                         grads_no_bias.data(), grads_no_bias.data() + c, nullptr, rows, channels, block}(b);
  }
  for (std::size_t i = 0; i < c; ++i) EXPECT_EQ(grads_no_bias[2 * c + i], grad_start[2 * c + i]);
}

template <class T>
void check_all_shapes() {
  std::uint32_t seed = 1;
  for (std::int64_t rows : {1, 7, 256}) {
    for (std::int64_t channels : {1, 5, 16, 37, 256}) {
      for (std::int64_t block : {std::int64_t{1}, std::int64_t{5}, engram::nn::kMaxNormBlock}) {
        check_shape<T>(rows, channels, block, rows > 1, seed++);
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
}

TEST(BatchNormRelu, FusedBlocksAreTheBitsOfThePerChannelKernelsFloat) { check_all_shapes<float>(); }
TEST(BatchNormRelu, FusedBlocksAreTheBitsOfThePerChannelKernelsDouble) { check_all_shapes<double>(); }

}  // namespace
