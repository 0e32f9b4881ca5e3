#pragma once
// Host entry point of the batched log-domain Sinkhorn solver (kernels/ot/sinkhorn.hpp): checks
// the problems, lays them out as one ragged batch in backend memory, iterates until every
// problem has converged or run out of iterations, and returns per-problem potentials, costs,
// optional plans and gradients. Also the debiased Sinkhorn divergence
//   S(a, b) = OT_ε(a, b) - ½ OT_ε(a, a) - ½ OT_ε(b, b)
// solved as one batch of 3B problems.
//
//   engram::ot::Problem<double> p;
//   p.x = {...};  p.y = {...};  p.eps = 0.01;                // [n, dim], [m, dim] row-major
//   engram::ot::SinkhornOptions o;  o.dim = 3;  o.plan = true;
//   auto solutions = engram::ot::solve(*engram::make_backend("cpu"), {p}, o);
//   double cost = solutions[0].transport_cost;               // <P, C>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/progress.hpp"
#include "engram/kernels/ot/cost.hpp"

namespace engram::ot {

template <class T>
struct Problem {
  std::vector<T> x, y;  // online costs: row-major points [n, dim] and [m, dim]
  std::vector<T> cost;  // stored cost: row-major [n, m] (set n and m)
  std::int64_t n = 0, m = 0;  // derived from the points for online costs
  std::vector<T> a, b;  // weights; empty means uniform 1/n and 1/m
  double eps = 0.1;     // target ε, in cost units
  double tau = std::numeric_limits<double>::infinity();  // KL marginal penalty; infinite = balanced
};

struct SinkhornOptions {
  CostKind cost = CostKind::sq_euclidean;
  double power = 2;               // p of CostKind::p_norm
  std::int32_t dim = 0;           // point dimension (online costs)
  double tol = 1e-9;              // marginal error (L1) at which a problem stops
  std::int32_t max_iter = 10000;  // per problem, annealing included
  double eps_decay = 0.5;         // ε-scaling factor per iteration; 1 turns annealing off
  double eps_start = 0;           // first ε; 0 means the problem's cost scale (largest cost)
  bool plan = false;              // return the dense plans
  bool gradient = false;          // return d value / d x (online costs)
  std::int32_t check_every = 10;  // iterations between the host's looks at the status flags
  // CPU backend: solve with stabilised kernel scalings (kernels/ot/cpu_sinkhorn.hpp) when the
  // kernels fit in memory; false runs the log-domain functors (the CUDA path and the reference).
  bool cpu_scaling = true;
  // Asked whether to go on every `check_every` iterations, from the calling thread only; a
  // cancelled solve throws Error::cancelled (Ctrl-C in Python or the CLI stops a long solve).
  Progress progress;
};

template <class T>
struct Solution {
  std::vector<T> f, g;        // dual potentials (source, target)
  std::vector<T> plan;        // [n, m] when asked
  std::vector<T> gradient;    // [n, dim] gradient of `value` with respect to x, when asked
  double transport_cost = 0;  // <P, C>
  double value = 0;           // entropic OT value (dual objective), what `gradient` differentiates
  double mass = 0;            // total mass of P
  double error = 0;           // final marginal error (L1; unbalanced: largest change of f)
  double eps = 0;             // ε of the final iteration
  std::int32_t iterations = 0;
  bool converged = false;
};

// Throws Error::bad_input naming "problems[i].<field>" for any bad input.
template <class T>
void validate(const std::vector<Problem<T>>& problems, const SinkhornOptions& options);

template <class T>
std::vector<Solution<T>> solve(Backend& backend, const std::vector<Problem<T>>& problems,
                               const SinkhornOptions& options);

// Debiased divergence of each problem (online costs, balanced or not); one batch of 3B problems.
template <class T>
std::vector<double> sinkhorn_divergence(Backend& backend, const std::vector<Problem<T>>& problems,
                                        const SinkhornOptions& options);

// Largest cost of a problem, bounded from the points' bounding box for online costs.
template <class T>
double cost_scale(const Problem<T>& problem, const SinkhornOptions& options);

}  // namespace engram::ot
