// The gradient baseline's readout-only mode (baseline.train: readout) trains W_out and nothing
// else, so it shares its trainable part with an output-table rule.
#include <gtest/gtest.h>

#include "engram/models/plasticity/gradient_training.hpp"
#include "engram/models/plasticity/plastic_data.hpp"

namespace engram::plastic {
namespace {

TEST(GradientTraining, ReadoutOnlyChangesTheReadoutAloneAndLowersTheLoss) {
  const PlasticShape shape{10, 40, 2, 20, 1, 0.5};
  const Dataset train = halfspace_data(10, 300, 3, 0);
  const PlasticWeights start = random_weights(shape, 3, 0);
  GradientTraining options;
  options.epochs = 5;
  options.readout_only = true;
  PlasticWeights readout = start;
  train_by_gradient(shape, readout, train, options);
  EXPECT_EQ(readout.w_rec, start.w_rec);
  EXPECT_EQ(readout.w_in, start.w_in);
  EXPECT_EQ(readout.bias, start.bias);
  EXPECT_NE(readout.w_out, start.w_out);
  EXPECT_LT(mean_cross_entropy(shape, readout, train), mean_cross_entropy(shape, start, train) - 0.1);
  // The default trains every existing weight.
  options.readout_only = false;
  PlasticWeights all = start;
  train_by_gradient(shape, all, train, options);
  EXPECT_NE(all.w_in, start.w_in);
  EXPECT_NE(all.bias, start.bias);
}

}  // namespace
}  // namespace engram::plastic
