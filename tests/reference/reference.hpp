#pragma once
// Scalar reference implementations ("oracles") of engram's kernels: plain loops over plain
// std::vectors, written to be obviously right rather than fast. The parity tests run every
// backend's kernel on fresh random inputs and compare with these bit for bit.
//
//   std::vector<engram::NeuronId> expect = engram::reference::kcap(inputs, batch, n, k);
//   backend.kcap(in.data(), batch, n, k, out.data());
//   EXPECT_EQ(out.to_host(), expect);
//
// The random graph has no independent scalar oracle: generating a row by testing every target
// independently would be a different random process with the same law. Its reference is
// statistical (tests/unit/gnp_test.cpp) plus gnp_row()/build_rows() below, which run GnpRow
// directly, one row at a time, so the backends' CSR build can be compared with it exactly.
//
// The statistics helpers (chi-square goodness of fit, binomial pmf) serve the sampler tests.
#include <cstdint>
#include <vector>

#include "engram/kernels/core/fixed_point.hpp"
#include "engram/kernels/core/types.hpp"

namespace engram::reference {

// ---- k-cap -------------------------------------------------------------------------------------
// inputs is [batch, n]. For each brain: the k largest inputs, ties broken by the lower index,
// returned as neuron ids in increasing order. Result is [batch, k].
std::vector<NeuronId> kcap(const std::vector<FixedInput>& inputs, std::int64_t batch, NeuronId n,
                           std::uint32_t k);

// ---- explicit edge lists -----------------------------------------------------------------------
struct Edge {
  NeuronId target;
  float weight;
};
// rows[b * n_source + s] holds the out-edges of source neuron s in brain b (empty when absent).
using EdgeRows = std::vector<std::vector<Edge>>;

// inputs[b, t] = sum of to_fixed(weight) over the edges s -> t of every firing source s of brain
// b. firing is [batch, count_per_brain]; a source listed twice counts twice. When `active` is
// not empty, brain b fires only the first active[b] entries of its row (ragged firing sets).
// Result [batch, n_target].
std::vector<FixedInput> accumulate(const EdgeRows& rows, NeuronId n_source,
                                   const std::vector<NeuronId>& firing,
                                   std::uint32_t count_per_brain, std::int64_t batch,
                                   NeuronId n_target, const std::vector<std::uint32_t>& active = {});

// For every brain b, every firing source s and every edge s -> t with t among winners[b, :]:
// weight *= factor[b] (a float multiply, as the kernel does). firing must not repeat a source
// within a brain; `active` as in accumulate(). winners is [batch, k].
void hebbian(EdgeRows& rows, NeuronId n_source, const std::vector<NeuronId>& firing,
             std::uint32_t count_per_brain, const std::vector<NeuronId>& winners, std::uint32_t k,
             const std::vector<float>& factor, const std::vector<std::uint32_t>& active = {});

// ---- the random graph, one GnpRow at a time ----------------------------------------------------
std::vector<NeuronId> gnp_row(std::uint64_t graph_seed, std::uint32_t fiber, NeuronId source,
                              NeuronId n_target, double p, NeuronId excluded_target);

// Rows of one fiber for a batch, built by calling GnpRow per requested (brain, source); rows not
// requested stay empty. Every edge gets initial_weight.
EdgeRows build_rows(const std::vector<std::uint64_t>& graph_seed, const std::vector<double>& p,
                    std::uint32_t fiber, NeuronId n_source, NeuronId n_target, bool exclude_self,
                    const std::vector<std::uint32_t>& req_brain,
                    const std::vector<NeuronId>& req_source, float initial_weight);

// ---- statistics --------------------------------------------------------------------------------
// P(X = x) for X ~ Binomial(n, p), through lgamma (relative error ~1e-9 up to n = 1e7).
double binomial_pmf(std::uint64_t n, double p, std::uint64_t x);

// Regularised upper incomplete gamma Q(a, x) (Numerical Recipes' series / continued fraction).
double gamma_q(double a, double x);

struct ChiSquare {
  double statistic = 0.0;
  int dof = 0;
  double p_value = 1.0;  // P(chi2_dof >= statistic)
};

// Goodness of fit of observed counts against expected counts (same total). Adjacent bins are
// merged, left to right, until each merged bin expects at least min_expected.
ChiSquare chi_square(const std::vector<double>& observed, const std::vector<double>& expected,
                     double min_expected = 5.0);

// Chi-square test of integer samples against Binomial(n, p): bins cover mean +- 12 sd (plus one
// bin for each tail's remaining mass) and are merged as in chi_square().
ChiSquare chi_square_binomial(const std::vector<std::uint64_t>& samples, std::uint64_t n, double p);

// ---- LARS (kernels/nn/lars.hpp) ---------------------------------------------------------------
// One step of one run, written from the MYOW public code's optimizer/lars.py: per tensor,
// local_lr = eta * |w| / (|g| + weight_decay * |w|) (1 when |w| or that sum is 0), or 1 with no
// weight decay when the tensor does not adapt; buf = momentum * buf + lr * local_lr * (g + wd * w);
// w -= buf. Values outside every tensor stay.
struct LarsTensor {
  std::size_t offset = 0, count = 0;
  bool adapt = true;
};
void lars_step(std::vector<double>& w, const std::vector<double>& g, std::vector<double>& buf,
               const std::vector<LarsTensor>& tensors, double lr, double momentum, double weight_decay, double eta);

struct Moments {
  double mean = 0.0;
  double variance = 0.0;   // unbiased
  double skewness = 0.0;
  double kurtosis = 0.0;   // not excess: 3 for a normal law
};
Moments moments(const std::vector<double>& samples);

}  // namespace engram::reference
