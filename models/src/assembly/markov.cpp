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
  root.allow_keys({"experiment", "backend", "seed", "brains", "batch_size", "transitions", "n", "k", "p", "training",
                   "beta", "noise", "presentations", "train_transitions", "sample_steps"});
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
  e.k = root.required<std::uint32_t>("k");
  e.p = root.required<double>("p");
  // A config that gives beta is a walk unless it says otherwise (configs written before the rule).
  const std::string training = root.optional<std::string>("training", root.has("beta") ? "walk" : "calibrated");
  if (training == "calibrated") {
    e.training = MarkovTraining::calibrated;
    for (const char* key : {"beta", "train_transitions"}) {
      if (root.has(key)) {
        throw Error::bad_input(key, "(set)", "only for training: walk; calibrated training derives it from the chain");
      }
    }
    e.n = root.optional<std::uint32_t>("n", 0);
    e.noise = root.optional<double>("noise", 0.0);
    if (root.has("noise") && !(e.noise > 0.0)) {
      throw Error::bad_input("noise", to_text(e.noise), "calibrated training needs noise > 0 (or leave it out for the rule's)");
    }
    e.presentations = root.optional<std::uint32_t>("presentations", 800);
  } else if (training == "walk") {
    e.training = MarkovTraining::walk;
    if (root.has("presentations")) {
      throw Error::bad_input("presentations", "(set)", "only for training: calibrated; a walk uses train_transitions");
    }
    e.n = root.required<std::uint32_t>("n");
    e.beta = root.required<double>("beta");
    e.noise = root.required<double>("noise");
    e.train_transitions = root.optional<std::uint32_t>("train_transitions", 200);
  } else {
    throw Error::bad_input("training", training, "must be calibrated or walk");
  }
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
  if (e.k == 0) throw Error::bad_input("k", "0", "must be at least 1");
  if (!(e.p > 0.0 && e.p <= 1.0)) throw Error::bad_input("p", to_text(e.p), "must be in (0, 1]");
  if (!(e.noise >= 0.0) || !std::isfinite(e.noise)) throw Error::bad_input("noise", to_text(e.noise), "must be a finite number >= 0");
  const std::uint64_t assemblies = static_cast<std::uint64_t>(states) * e.k;
  if (e.training == MarkovTraining::calibrated) {
    // The rule's share model has every neuron in some state's assembly: the cap is one assembly.
    if (e.n != 0 && e.n != assemblies) {
      throw Error::bad_input("n", to_text(e.n), "calibrated training needs n = states * k = " + to_text(assemblies) + " (or leave it out)");
    }
    if (!(e.p < 1.0)) throw Error::bad_input("p", to_text(e.p), "calibrated training needs p < 1 (a graph whose in-degrees vary)");
    if (e.presentations == 0) throw Error::bad_input("presentations", "0", "must be at least 1");
  } else if (assemblies > e.n) {
    throw Error::bad_input("n", to_text(e.n), "must hold one assembly of k = " + to_text(e.k) + " per state");
  }
}

MarkovCalibration markov_settings(const MarkovExperiment& e) {
  if (e.training == MarkovTraining::walk) {
    MarkovCalibration c;
    c.noise = e.noise;
    c.beta = e.beta;
    return c;
  }
  const double noise = e.noise > 0.0 ? e.noise : default_markov_noise(e.k, e.p);
  return calibrate_markov(e.transitions, e.k, e.p, noise, e.presentations);
}

std::vector<MarkovResult> run_markov(const MarkovExperiment& e, Backend& backend) {
  validate(e);
  return run_markov(e, markov_settings(e), backend);
}

std::vector<MarkovResult> run_markov(const MarkovExperiment& e, const MarkovCalibration& settings, Backend& backend) {
  validate(e);
  const auto states = static_cast<std::uint32_t>(e.transitions.size());
  if (e.training == MarkovTraining::calibrated && settings.presentations.size() != states) {
    throw Error::bad_input("presentations", to_text(settings.presentations.size()) + " states",
                           "calibrated settings must give one count per state (" + to_text(states) + ")");
  }
  const NeuronId n = e.n != 0 ? e.n : static_cast<NeuronId>(states * e.k);
  BrainSpec spec;
  spec.areas = {AreaSpec{"S", n, e.k, true, settings.noise}};
  spec.fibers = {FiberSpec{"S", "S", settings.beta}};
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
    const auto show = [&](const std::vector<std::uint32_t>& source, const std::vector<std::uint32_t>& next) {
      std::vector<std::vector<NeuronId>> from(count), to(count);
      for (std::uint32_t b = 0; b < count; ++b) {
        ++part[b].trained[source[b]][next[b]];
        from[b] = assembly_of(source[b], e.k);
        to[b] = assembly_of(next[b], e.k);
      }
      batch.set_firing("S", from);
      batch.clamp_next("S", to);
      batch.project();
    };
    batch.set_plasticity(true);
    if (e.training == MarkovTraining::walk) {
      for (std::uint32_t t = 0; t < e.train_transitions; ++t) {
        std::vector<std::uint32_t> source = state, next(count);
        for (std::uint32_t b = 0; b < count; ++b) {
          RngStream rng(RngKey{e.seed, first + b, purpose::markov_chain, t, 0});
          next[b] = draw_next(e.transitions[state[b]], rng.uniform());
        }
        show(source, next);
        state = next;
      }
    } else {
      // Rounds over the states, each showing x until its N_x presentations are done; every
      // brain of the batch fires the same x, so one launch covers them all.
      std::uint32_t shown = 0;
      const std::uint32_t rounds = *std::max_element(settings.presentations.begin(), settings.presentations.end());
      for (std::uint32_t round = 0; round < rounds; ++round) {
        for (std::uint32_t x = 0; x < states; ++x) {
          if (settings.presentations[x] <= round) continue;
          std::vector<std::uint32_t> source(count, x), next(count);
          for (std::uint32_t b = 0; b < count; ++b) {
            RngStream rng(RngKey{e.seed, first + b, purpose::markov_chain, shown, 2});
            next[b] = draw_next(e.transitions[x], rng.uniform());
          }
          show(source, next);
          ++shown;
        }
      }
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
      r.row_tv.assign(states, 0.0);
      for (std::uint32_t x = 0; x < states; ++x) {
        const double visits = std::accumulate(r.sampled[x].begin(), r.sampled[x].end(), 0.0);
        if (visits == 0) continue;
        for (std::uint32_t y = 0; y < states; ++y) {
          const double gap = std::fabs(r.sampled[x][y] / visits - e.transitions[x][y]);
          r.max_error = std::max(r.max_error, gap);
          r.row_tv[x] += 0.5 * gap;
        }
        r.max_row_tv = std::max(r.max_row_tv, r.row_tv[x]);
      }
      results.push_back(std::move(r));
    }
  });
  return results;
}

}  // namespace engram::assembly
