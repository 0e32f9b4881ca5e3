// engram::cpu::exp (kernels/core/cpu_exp.hpp), the vectorisable exp of the CPU fast paths,
// against std::exp: within 2 ulp over the whole finite range it covers, 0 below it, NaN kept,
// and the array form gives the same bits as the element form.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "engram/kernels/core/cpu_exp.hpp"

namespace {

template <class T>
double ulps(T got, T want) {
  const T spacing = std::nextafter(want, std::numeric_limits<T>::infinity()) - want;
  return std::abs(static_cast<double>(got) - static_cast<double>(want)) / static_cast<double>(spacing);
}

template <class T>
void check_range(T lo, T hi) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<T> in;
  for (int k = 0; k <= 200000; ++k) in.push_back(lo + (hi - lo) * static_cast<T>(k) / T(200000));
  for (int k = 0; k < 200000; ++k) in.push_back(static_cast<T>(unit(rng) * 2.0 - 1.0));  // the common |x| < 1
  std::vector<T> out = in;
  engram::cpu::exp_inplace(out.data(), static_cast<std::int64_t>(out.size()));
  double worst = 0;
  T worst_at = 0;
  for (std::size_t k = 0; k < in.size(); ++k) {
    ASSERT_EQ(out[k], engram::cpu::exp(in[k])) << "array and element forms differ at " << in[k];
    const double u = ulps(out[k], std::exp(in[k]));
    if (u > worst) {
      worst = u;
      worst_at = in[k];
    }
  }
  EXPECT_LE(worst, 2.0) << "at x = " << worst_at;
}

TEST(CpuExp, DoubleWithinTwoUlp) { check_range<double>(-708.0, 709.0); }
TEST(CpuExp, FloatWithinTwoUlp) { check_range<float>(-87.0f, 88.0f); }

TEST(CpuExp, EdgesOfTheRange) {
  EXPECT_EQ(engram::cpu::exp(-1000.0), 0.0);
  EXPECT_EQ(engram::cpu::exp(-std::numeric_limits<double>::infinity()), 0.0);
  EXPECT_EQ(engram::cpu::exp(-100.0f), 0.0f);
  EXPECT_EQ(engram::cpu::exp(0.0), 1.0);
  EXPECT_EQ(engram::cpu::exp(0.0f), 1.0f);
  EXPECT_TRUE(std::isinf(engram::cpu::exp(1000.0)));
  EXPECT_TRUE(std::isinf(engram::cpu::exp(100.0f)));
  EXPECT_TRUE(std::isnan(engram::cpu::exp(std::numeric_limits<double>::quiet_NaN())));
  EXPECT_TRUE(std::isnan(engram::cpu::exp(std::numeric_limits<float>::quiet_NaN())));
}

}  // namespace
