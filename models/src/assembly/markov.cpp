#include "engram/models/assembly/markov.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/assembly/brain_batch.hpp"
#include "engram/models/assembly/brain_chunks.hpp"
#include "engram/models/assembly/operations.hpp"
#include "engram/models/assembly/purposes.hpp"

namespace engram::assembly {

namespace {

std::uint32_t draw_next(const std::vector<double>& row, double u) {
  double cumulative = 0.0;
  for (std::size_t y = 0; y < row.size(); ++y) {
    cumulative += row[y];
    if (u < cumulative) return static_cast<std::uint32_t>(y);
  }
  return static_cast<std::uint32_t>(row.size() - 1);
}

std::vector<NeuronId> assembly_of(std::uint32_t state, std::uint32_t k) {
  std::vector<NeuronId> neurons(k);
  std::iota(neurons.begin(), neurons.end(), static_cast<NeuronId>(state * k));
  return neurons;
}

// Reads the area's choice as the state of a uniformly drawn winner: the share of the k winners
// each outcome assembly won is the probability of moving there. (A plurality vote would turn
// any weight difference into a near-certain choice, as k votes average the noise away.)
std::uint32_t decode(const std::vector<NeuronId>& winners, std::uint32_t states, std::uint32_t k, double u) {
  const auto pick = std::min(winners.size() - 1, static_cast<std::size_t>(u * static_cast<double>(winners.size())));
  return std::min(states - 1, winners[pick] / k);
}

}  // namespace

MarkovExperiment parse_markov(const io::ConfigNode& root) {
  root.allow_keys({"experiment", "backend", "seed", "brains", "batch_size", "transitions", "n", "k", "p", "beta",
                   "noise", "train_transitions", "sample_steps"});
  MarkovExperiment e;
  e.backend = root.optional<std::string>("backend", "auto");
  if (e.backend != "cpu" && e.backend != "cuda" && e.backend != "auto") {
    throw Error::bad_input("backend", e.backend, "must be one of cpu, cuda, auto");
  }
  e.seed = root.optional<std::uint64_t>("seed", 0);
  e.brains = root.optional<std::uint32_t>("brains", 1);
  if (e.brains == 0) throw Error::bad_input("brains", "0", "must be at least 1");
  e.batch_size = std::min(root.optional<std::uint32_t>("batch_size", e.brains), e.brains);
  if (e.batch_size == 0) throw Error::bad_input("batch_size", "0", "must be at least 1");
  for (const io::ConfigNode& row : root.list("transitions")) {
    std::vector<double> probabilities;
    for (const io::ConfigNode& cell : row.elements()) probabilities.push_back(cell.number());
    e.transitions.push_back(std::move(probabilities));
  }
  e.n = root.required<std::uint32_t>("n");
  e.k = root.required<std::uint32_t>("k");
  e.p = root.required<double>("p");
  e.beta = root.required<double>("beta");
  e.noise = root.required<double>("noise");
  e.train_transitions = root.optional<std::uint32_t>("train_transitions", 200);
  e.sample_steps = root.optional<std::uint32_t>("sample_steps", 1000);
  validate(e);
  return e;
}

void validate(const MarkovExperiment& e) {
  const auto states = static_cast<std::uint32_t>(e.transitions.size());
  if (states < 2) throw Error::bad_input("transitions", to_text(states) + " states", "needs at least 2 states");
  for (std::size_t x = 0; x < states; ++x) {
    const std::string field = "transitions[" + to_text(x) + "]";
    if (e.transitions[x].size() != states) {
      throw Error::bad_input(field, to_text(e.transitions[x].size()) + " entries", "must have one entry per state (" + to_text(states) + ")");
    }
    double sum = 0;
    for (double v : e.transitions[x]) {
      if (!(v >= 0.0 && v <= 1.0)) throw Error::bad_input(field, to_text(v), "probabilities must be in [0, 1]");
      sum += v;
    }
    if (std::fabs(sum - 1.0) > 1e-9) throw Error::bad_input(field, to_text(sum), "must sum to 1");
  }
  if (static_cast<std::uint64_t>(states) * e.k > e.n) {
    throw Error::bad_input("n", to_text(e.n), "must hold one assembly of k = " + to_text(e.k) + " per state");
  }
}

std::vector<MarkovResult> run_markov(const MarkovExperiment& e, Backend& backend) {
  validate(e);
  const auto states = static_cast<std::uint32_t>(e.transitions.size());
  BrainSpec spec;
  spec.areas = {AreaSpec{"S", e.n, e.k, true, e.noise}};
  spec.fibers = {FiberSpec{"S", "S", e.beta}};
  spec.p = e.p;
  spec.validate();

  std::vector<MarkovResult> results;
  for_each_brain_batch(backend, spec, e.seed, e.brains, e.batch_size,
                       [&](BrainBatch& batch, std::uint32_t first, const std::vector<BrainId>&) {
    const auto count = static_cast<std::uint32_t>(batch.size());
    std::vector<MarkovResult> part(count);
    std::vector<std::uint32_t> state(count, 0);
    for (std::uint32_t b = 0; b < count; ++b) {
      part[b].brain = first + b;
      part[b].trained.assign(states, std::vector<std::uint32_t>(states, 0));
      part[b].sampled.assign(states, std::vector<std::uint32_t>(states, 0));
    }
    // Training: fire x, clamp the next winners to y.
    batch.set_plasticity(true);
    for (std::uint32_t t = 0; t < e.train_transitions; ++t) {
      std::vector<std::vector<NeuronId>> from(count), to(count);
      for (std::uint32_t b = 0; b < count; ++b) {
        RngStream rng(RngKey{e.seed, first + b, purpose::markov_chain, t, 0});
        const std::uint32_t next = draw_next(e.transitions[state[b]], rng.uniform());
        ++part[b].trained[state[b]][next];
        from[b] = assembly_of(state[b], e.k);
        to[b] = assembly_of(next, e.k);
        state[b] = next;
      }
      batch.set_firing("S", from);
      batch.clamp_next("S", to);
      batch.project();
    }
    // Sampling: the area chooses.
    batch.set_plasticity(false);
    for (std::uint32_t t = 0; t < e.sample_steps; ++t) {
      std::vector<std::vector<NeuronId>> from(count);
      for (std::uint32_t b = 0; b < count; ++b) from[b] = assembly_of(state[b], e.k);
      batch.set_firing("S", from);
      batch.project();
      for (std::uint32_t b = 0; b < count; ++b) {
        RngStream rng(RngKey{e.seed, first + b, purpose::markov_chain, e.train_transitions + t, 1});
        const std::uint32_t next = decode(batch.winners(b, "S"), states, e.k, rng.uniform());
        ++part[b].sampled[state[b]][next];
        state[b] = next;
      }
    }
    for (MarkovResult& r : part) {
      for (std::uint32_t x = 0; x < states; ++x) {
        const double visits = std::accumulate(r.sampled[x].begin(), r.sampled[x].end(), 0.0);
        if (visits == 0) continue;
        for (std::uint32_t y = 0; y < states; ++y) {
          r.max_error = std::max(r.max_error, std::fabs(r.sampled[x][y] / visits - e.transitions[x][y]));
        }
      }
      results.push_back(std::move(r));
    }
  });
  return results;
}

}  // namespace engram::assembly
