#pragma once
// The rule that sets NEMO's Markov learning for a given chain: the input noise, the Hebbian beta
// and how many transitions of each state training shows, so that the area then samples the
// chain's own transition probabilities (docs/markov.md derives it).
//
// Model. Area S has one assembly of k neurons per state (n = states * k) and a recurrent G(n, p)
// graph. Showing x -> y multiplies the x -> y synapses by (1 + beta), so after c_xy showings a
// neuron j of assembly y receives W_xy * d_j + sigma * noise when x fires, with
// W_xy = (1 + beta)^c_xy, d_j ~ Binomial(k, p) its in-degree from x, noise ~ N(0, 1). The k-cap
// keeps the k largest of the n inputs, and the next state is a uniformly drawn winner's, so
// P(x -> y) is the share of the cap that y's assembly wins. For large k that share is
//   q_y(tau) = sum_d Binomial(d; k, p) * Q((tau - W_xy d) / sigma),   with sum_y q_y(tau) = 1
// (Q the standard normal tail). Showing each state x N_x times makes c_xy ~ N_x P_xy, so the
// log-weights are g_x * P_xy with g_x = N_x ln(1 + beta): one gain per row. The rule picks g_x
// minimising the total variation between q and the row, then one beta for all rows and
// N_x = g_x / ln(1 + beta) (rows differ in g_x; a walk along the chain would instead show each
// state in proportion to its stationary probability, which no single beta can serve).
//
//   MarkovCalibration c = calibrate_markov({{0.9, 0.1}, {0.4, 0.6}}, /*k=*/100, /*p=*/0.1);
//   // c.noise = 3 (sqrt(k p (1 - p))), c.beta ~ 0.00145, c.presentations = {800, 630}
#include <cstdint>
#include <vector>

namespace engram::assembly {

struct MarkovCalibration {
  double noise = 0.0;                        // sd of the input noise, in unit weights
  double beta = 0.0;                         // Hebbian rate of the S -> S fiber
  std::vector<double> gain;                  // g_x: ln(W_xy) = g_x P_xy after training
  std::vector<std::uint32_t> presentations;  // N_x: transitions shown from state x
  std::vector<double> model_tv;              // the large-k model's residual TV per row at g_x
};

// The noise the rule uses unless told otherwise: the sd of a neuron's unit-weight input from one
// assembly, sqrt(k p (1 - p)). Larger noise averages out more of the fixed graph's unevenness
// (each brain's k in-degrees are one sample of the binomial), but bends the share curve further
// from the row for 3+ states; this is where the two errors balance (docs/markov.md).
double default_markov_noise(std::uint32_t k, double p);

// The large-k share of the cap each assembly wins when the weights from the firing assembly are
// `weights` (one per state).
std::vector<double> markov_share(const std::vector<double>& weights, std::uint32_t k, double p, double noise);

// most_presentations: N_x of the row with the largest gain (the others get proportionally fewer).
// More presentations mean a smaller beta and less sampling noise in the learned counts.
MarkovCalibration calibrate_markov(const std::vector<std::vector<double>>& chain, std::uint32_t k, double p,
                                   double noise, std::uint32_t most_presentations);

}  // namespace engram::assembly
