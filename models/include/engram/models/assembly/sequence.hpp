#pragma once
// Sequence memorisation (Dabagia, Papadimitriou & Vempala, "Computation with sequences of
// assemblies in a model of the brain", ALT 2024). Stimuli s_1..s_L are presented in order into
// area A, whose recurrence links the assembly of each element to the next. After each
// presentation the sequence is cued with s_1 alone (plasticity off) and A runs on its own
// recurrence for L - 1 steps; element i counts as recalled when A's firing set overlaps the
// assembly s_i formed (in the latest presentation) by at least `recall_threshold`. With a
// scaffold area, A's assemblies also project into the scaffold S, whose own recurrence carries
// the order and projects back into A.
//
//   SequenceExperiment e = parse_sequence(root);
//   run_sequence(e, backend, [](const SequenceRecord& r) { ... });
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/models/assembly/brain_spec.hpp"

namespace engram::assembly {

struct SequenceExperiment {
  BrainSpec brain;  // built from the keys below
  std::uint64_t seed = 0;
  std::uint32_t brains = 1;
  std::uint32_t batch_size = 1;
  std::string backend = "auto";
  std::uint32_t length = 5;          // L stimuli
  std::uint32_t presentations = 10;  // maximum presentations
  double recall_threshold = 0.9;     // overlap fraction for an element to count as recalled
  bool scaffold = false;
};

struct SequenceRecord {
  std::uint32_t brain = 0;
  std::uint64_t seed = 0;
  std::uint32_t presentation = 0;  // 1-based
  std::uint32_t element = 0;       // 1-based position in the sequence
  double overlap = 0.0;            // recall overlap with the element's assembly
};

// Keys: backend, mode, seed, brains, batch_size, n, k, p, beta, length, presentations,
// recall_threshold, scaffold (bool).
SequenceExperiment parse_sequence(const io::ConfigNode& root);

// Calls `sink` for every (presentation, element) recall measurement. Returns, per brain, the
// first presentation after which every element was recalled (0 if none within the budget).
std::vector<std::uint32_t> run_sequence(const SequenceExperiment& experiment, Backend& backend,
                                        const std::function<void(const SequenceRecord&)>& sink);

}  // namespace engram::assembly
