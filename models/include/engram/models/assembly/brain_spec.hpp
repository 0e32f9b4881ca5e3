#pragma once
// The shape of an Assembly Calculus brain: areas of n neurons with a cap of k winners, stimuli
// (sets of k neurons that fire together), and fibers (directed random graphs G(n, p) between a
// source and a target area, each with its own Hebbian rate beta). Brains with equal specs form a
// shape class and can share a batch.
//
//   engram::assembly::BrainSpec spec;
//   spec.areas = {{"A", 100000, 300}};
//   spec.stimuli = {{"s", 300}};
//   spec.fibers = {{"s", "A", 0.05}, {"A", "A", 0.05}};
//   spec.p = 0.01;
//   spec.validate();   // throws engram::Error naming the bad field
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engram/kernels/core/types.hpp"

namespace engram::assembly {

enum class GraphMode {
  explicit_graph,  // every row of every fiber materialised up front as CSR
  implicit_graph,  // rows generated when their source neuron first fires; identical edges
  lazy,            // statistical: never-fired neurons summarised by their input distribution
};

// Constructors (rather than plain aggregates) let callers write {"A", n, k} and leave the
// optional members at their defaults without -Wmissing-field-initializers noise.
struct AreaSpec {
  AreaSpec() = default;
  AreaSpec(std::string name_, NeuronId n_, std::uint32_t k_, bool self_loops_ = true, double noise_ = 0.0,
           bool normalise_incoming_ = false)
      : name(std::move(name_)), n(n_), k(k_), self_loops(self_loops_), noise(noise_),
        normalise_incoming(normalise_incoming_) {}
  std::string name;
  NeuronId n = 0;
  std::uint32_t k = 0;
  bool self_loops = true;  // whether a recurrent fiber may connect a neuron to itself
  double noise = 0.0;      // sd of i.i.d. Gaussian input noise before the k-cap (NEMO), in unit weights
  // After each update, rescale every winner's in-edges from ever-fired neurons (all fibers into
  // the area) so their sum stays what it was before learning (plasticity/normalise.hpp).
  bool normalise_incoming = false;
};

struct StimulusSpec {
  std::string name;
  std::uint32_t k = 0;
};

struct FiberSpec {
  FiberSpec() = default;
  FiberSpec(std::string from_, std::string to_, double beta_, std::optional<double> p_ = std::nullopt,
            double max_weight_ = 0.0)
      : from(std::move(from_)), to(std::move(to_)), beta(beta_), p(p_), max_weight(max_weight_) {}
  std::string from;  // a stimulus or an area
  std::string to;    // an area
  double beta = 0.0;
  std::optional<double> p;  // edge probability; the brain's p when absent
  double max_weight = 0.0;  // > 0: Hebbian growth stops at this weight
};

struct BrainSpec {
  std::vector<AreaSpec> areas;
  std::vector<StimulusSpec> stimuli;
  std::vector<FiberSpec> fibers;
  double p = 0.01;
  GraphMode mode = GraphMode::implicit_graph;

  // Throws engram::Error (bad_input) naming the first invalid field and its value.
  void validate() const;

  // Index of the area / stimulus with this name, or -1.
  int area_index(const std::string& name) const;
  int stimulus_index(const std::string& name) const;
  double fiber_p(std::size_t fiber) const { return fibers[fiber].p.value_or(p); }
};

const char* to_string(GraphMode mode);

}  // namespace engram::assembly
