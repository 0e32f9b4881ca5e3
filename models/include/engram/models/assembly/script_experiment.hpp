#pragma once
// A script experiment: a brain spec plus a program of Assembly Calculus operations, run on
// `brains` brains (brain i keyed by (seed, i)), `batch_size` to a batch. Every operation of the
// literature is reachable from YAML:
//
//   program:
//     - project: {sources: [stim], targets: [A], steps: 20}
//     - record: {area: A, as: assembly}
//     - complete: {area: A, fraction: 0.5, steps: 5}
//     - compare: {a: A, b: assembly}          # overlap of A's firing set with the recording
//     - density: {area: A, assembly: assembly} # recurrent synaptic density inside it
//
// Each step of each updated area yields `support` and `overlap` metrics; project-like
// operations add `converged_step`; compare and density add their own metric.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/engine/progress.hpp"
#include "engram/models/assembly/brain_spec.hpp"

namespace engram::assembly {

struct ScriptOp {
  std::string kind;                  // project, reciprocal_project, associate, merge, complete, ...
  std::vector<std::string> sources;  // project
  std::vector<std::string> targets;  // project, inhibit, disinhibit
  std::string a, b, into, area, name;
  int steps = 0;
  double fraction = 0.0;
  std::uint32_t assembly = 0;
  bool enabled = true;
};

struct ScriptExperiment {
  BrainSpec brain;
  std::uint64_t seed = 0;
  std::uint32_t brains = 1;
  std::uint32_t batch_size = 1;
  std::string backend = "auto";
  double converged_at = 0.99;  // overlap fraction that counts as converged
  bool trace_winners = false;  // also report every updated area's winners after every step
  std::vector<ScriptOp> program;
};

struct MetricRecord {
  std::uint32_t brain = 0;
  std::uint64_t seed = 0;
  std::uint32_t step = 0;     // steps taken so far
  std::uint32_t op = 0;       // index into the program
  std::string op_kind;
  std::string area;           // area, or "a~b" for compare
  std::string metric;
  double value = 0.0;
};

ScriptExperiment parse_script(const io::ConfigNode& root);

struct WinnersRecord {
  std::uint32_t brain = 0;
  std::uint32_t step = 0;
  std::string area;
  std::vector<NeuronId> winners;
};

using MetricSink = std::function<void(const MetricRecord&)>;
using WinnersSink = std::function<void(const WinnersRecord&)>;
// `winners` is called only when experiment.trace_winners is set.
void run_script(const ScriptExperiment& experiment, Backend& backend, const MetricSink& sink,
                const Progress& progress = {},
                const WinnersSink& winners = {});

}  // namespace engram::assembly
