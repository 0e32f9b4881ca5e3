#include "engram/models/assembly/brain_config.hpp"

#include <algorithm>

#include "engram/engine/error.hpp"

namespace engram::assembly {

std::uint32_t positive_count(const io::ConfigNode& node, const std::string& key, std::uint32_t fallback) {
  const auto value = node.optional<std::uint32_t>(key, fallback);
  if (value == 0) throw Error::bad_input(node.field(key), "0", "must be at least 1");
  return value;
}

BrainSection parse_brain_section(const io::ConfigNode& root) {
  BrainSection section;
  BrainSpec& brain = section.brain;
  std::string& backend = section.backend;
  backend = root.optional<std::string>("backend", "auto");
  if (backend != "cpu" && backend != "cuda" && backend != "auto") {
    throw Error::bad_input("backend", backend, "must be one of cpu, cuda, auto");
  }
  const std::string mode = root.optional<std::string>("mode", "implicit");
  if (mode == "implicit") brain.mode = GraphMode::implicit_graph;
  else if (mode == "explicit") brain.mode = GraphMode::explicit_graph;
  else if (mode == "lazy") brain.mode = GraphMode::lazy;
  else throw Error::bad_input("mode", mode, "must be implicit, explicit or lazy");
  brain.p = root.required<double>("p");
  section.seed = root.optional<std::uint64_t>("seed", 0);
  section.brains = positive_count(root, "brains", 1);
  section.batch_size = std::min(positive_count(root, "batch_size", section.brains), section.brains);
  for (const io::ConfigNode& a : root.list("areas")) {
    a.allow_keys({"name", "n", "k", "self_loops", "noise", "normalise"});
    const std::string normalise = a.optional<std::string>("normalise", "none");
    if (normalise != "none" && normalise != "incoming_sum") {
      throw Error::bad_input(a.field("normalise"), normalise, "must be none or incoming_sum");
    }
    brain.areas.emplace_back(a.required<std::string>("name"), a.required<std::uint32_t>("n"),
                             a.required<std::uint32_t>("k"), a.optional<bool>("self_loops", true), a.optional<double>("noise", 0.0), normalise == "incoming_sum");
  }
  for (const io::ConfigNode& s : root.optional_list("stimuli")) {
    s.allow_keys({"name", "k"});
    brain.stimuli.push_back(StimulusSpec{s.required<std::string>("name"), s.required<std::uint32_t>("k")});
  }
  for (const io::ConfigNode& f : root.list("fibers")) {
    f.allow_keys({"from", "to", "beta", "p", "max_weight"});
    brain.fibers.emplace_back(f.required<std::string>("from"), f.required<std::string>("to"),
                              f.required<double>("beta"), f.maybe<double>("p"), f.optional<double>("max_weight", 0.0));
  }
  brain.validate();
  return section;
}

}  // namespace engram::assembly
