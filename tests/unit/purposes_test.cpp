// RNG purposes are owned by their kernel families and models (each declares its own in a
// purposes.hpp); two owners must never pick the same value, or their draws would coincide.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "engram/kernels/graph/purposes.hpp"
#include "engram/kernels/nn/purposes.hpp"
#include "engram/models/assembly/purposes.hpp"
#include "engram/models/data/purposes.hpp"
#include "engram/models/ot/purposes.hpp"
#include "engram/models/plasticity/purposes.hpp"

namespace {

TEST(Purposes, EveryOwnerHasItsOwnValues) {
  namespace p = engram::purpose;
  const std::map<std::string, engram::Purpose> all = {
      {"graph_edges", p::graph_edges},       {"input_noise", p::input_noise},
      {"nn_dropout", p::nn_dropout},         {"nn_init", p::nn_init},
      {"nn_batches", p::nn_batches},         {"graph_seed", p::graph_seed},
      {"firing_subset", p::firing_subset},   {"lazy_area_seed", p::lazy_area_seed},
      {"lazy_potentials", p::lazy_potentials}, {"lazy_split", p::lazy_split},
      {"lazy_in_edges", p::lazy_in_edges},   {"lazy_out_edges", p::lazy_out_edges},
      {"classification_data", p::classification_data}, {"markov_chain", p::markov_chain},
      {"plasticity_data", p::plasticity_data}, {"plasticity_weights", p::plasticity_weights},
      {"plasticity_rule", p::plasticity_rule}, {"neural_data", p::neural_data},
      {"ot_synthetic", p::ot_synthetic},     {"ot_kmeans", p::ot_kmeans},
      {"test", engram::Purpose::test}};
  std::map<std::uint32_t, std::string> owner;
  for (const auto& [name, value] : all) {
    const auto v = static_cast<std::uint32_t>(value);
    EXPECT_GT(v, 0u) << name;
    EXPECT_LT(v, 256u) << name << ": the purpose holds 8 bits of the Philox counter";
    const auto [it, fresh] = owner.emplace(v, name);
    EXPECT_TRUE(fresh) << name << " and " << it->second << " share purpose " << v;
  }
  // The values the purposes had when one enum listed them all: a stream's bits never moved.
  EXPECT_EQ(static_cast<std::uint32_t>(p::graph_edges), 2u);
  EXPECT_EQ(static_cast<std::uint32_t>(p::nn_init), 16u);
  EXPECT_EQ(static_cast<std::uint32_t>(p::ot_kmeans), 20u);
}

}  // namespace
