#include "engram/models/assembly/sequence.hpp"

#include <algorithm>

#include "engram/engine/error.hpp"
#include "engram/models/assembly/brain_batch.hpp"
#include "engram/models/assembly/brain_chunks.hpp"
#include "engram/models/assembly/operations.hpp"

namespace engram::assembly {

namespace {
std::string element_name(std::uint32_t i) { return "s" + std::to_string(i + 1); }
}  // namespace

SequenceExperiment parse_sequence(const io::ConfigNode& root) {
  root.allow_keys({"experiment", "backend", "mode", "seed", "brains", "batch_size", "n", "k", "p", "beta",
                   "length", "presentations", "recall_threshold", "scaffold"});
  SequenceExperiment e;
  e.backend = root.optional<std::string>("backend", "auto");
  if (e.backend != "cpu" && e.backend != "cuda" && e.backend != "auto") {
    throw Error::bad_input("backend", e.backend, "must be one of cpu, cuda, auto");
  }
  const std::string mode = root.optional<std::string>("mode", "implicit");
  if (mode == "implicit") e.brain.mode = GraphMode::implicit_graph;
  else if (mode == "explicit") e.brain.mode = GraphMode::explicit_graph;
  else if (mode == "lazy") e.brain.mode = GraphMode::lazy;
  else throw Error::bad_input("mode", mode, "must be implicit, explicit or lazy");
  e.seed = root.optional<std::uint64_t>("seed", 0);
  e.brains = root.optional<std::uint32_t>("brains", 1);
  if (e.brains == 0) throw Error::bad_input("brains", "0", "must be at least 1");
  e.batch_size = std::min(root.optional<std::uint32_t>("batch_size", e.brains), e.brains);
  if (e.batch_size == 0) throw Error::bad_input("batch_size", "0", "must be at least 1");
  const auto n = root.required<std::uint32_t>("n");
  const auto k = root.required<std::uint32_t>("k");
  e.brain.p = root.required<double>("p");
  const double beta = root.required<double>("beta");
  e.length = root.required<std::uint32_t>("length");
  if (e.length < 2) throw Error::bad_input("length", to_text(e.length), "a sequence needs at least 2 elements");
  e.presentations = root.required<std::uint32_t>("presentations");
  if (e.presentations == 0) throw Error::bad_input("presentations", "0", "must be at least 1");
  e.recall_threshold = root.optional<double>("recall_threshold", 0.9);
  if (!(e.recall_threshold > 0.0 && e.recall_threshold <= 1.0)) {
    throw Error::bad_input("recall_threshold", to_text(e.recall_threshold), "must be in (0, 1]");
  }
  e.scaffold = root.optional<bool>("scaffold", false);

  e.brain.areas = {AreaSpec{"A", n, k}};
  for (std::uint32_t i = 0; i < e.length; ++i) {
    e.brain.stimuli.push_back(StimulusSpec{element_name(i), k});
    e.brain.fibers.emplace_back(element_name(i), "A", beta);
  }
  e.brain.fibers.emplace_back("A", "A", beta);
  if (e.scaffold) {
    e.brain.areas.emplace_back("S", n, k);
    e.brain.fibers.emplace_back("A", "S", beta);
    e.brain.fibers.emplace_back("S", "S", beta);
    e.brain.fibers.emplace_back("S", "A", beta);
  }
  e.brain.validate();
  return e;
}

std::vector<std::uint32_t> run_sequence(const SequenceExperiment& e, Backend& backend,
                                        const std::function<void(const SequenceRecord&)>& sink) {
  std::vector<std::uint32_t> learned_after(e.brains, 0);
  std::vector<std::string> areas = {"A"};
  if (e.scaffold) areas.push_back("S");
  const std::uint32_t k = e.brain.areas[0].k;
  for_each_brain_batch(backend, e.brain, e.seed, e.brains, e.batch_size,
                       [&](BrainBatch& batch, std::uint32_t first, const std::vector<BrainId>&) {
    const auto count = static_cast<std::uint32_t>(batch.size());
    // assemblies[i][b]: A's firing set when element i was presented last.
    std::vector<std::vector<std::vector<NeuronId>>> assemblies(e.length);
    for (std::uint32_t presentation = 1; presentation <= e.presentations; ++presentation) {
      batch.set_plasticity(true);
      for (std::uint32_t i = 0; i < e.length; ++i) {
        // The first element starts from silence so the sequence does not wrap around.
        std::vector<std::string> sources = {element_name(i)};
        if (i > 0) sources.insert(sources.end(), areas.begin(), areas.end());
        project_rounds(batch, sources, areas, 1);
        assemblies[i].clear();
        for (std::uint32_t b = 0; b < count; ++b) assemblies[i].push_back(batch.winners(b, "A"));
      }
      // Recall from the first element alone.
      batch.set_plasticity(false);
      std::vector<bool> all_recalled(count, true);
      for (std::uint32_t i = 0; i < e.length; ++i) {
        if (i == 0) project_rounds(batch, {element_name(0)}, areas, 1);
        else project_rounds(batch, areas, areas, 1);
        for (std::uint32_t b = 0; b < count; ++b) {
          const double overlap = static_cast<double>(shared_neurons(batch.winners(b, "A"), assemblies[i][b])) / k;
          sink(SequenceRecord{first + b, e.seed, presentation, i + 1, overlap});
          if (overlap < e.recall_threshold) all_recalled[b] = false;
        }
      }
      for (std::uint32_t b = 0; b < count; ++b) {
        if (all_recalled[b] && learned_after[first + b] == 0) learned_after[first + b] = presentation;
      }
    }
  });
  return learned_after;
}

}  // namespace engram::assembly
