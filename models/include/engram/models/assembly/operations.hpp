#pragma once
// The composite operations of the Assembly Calculus, built from BrainBatch's controls. Each one
// arranges which sources fire and which areas are fixed for its duration, runs its steps, and
// restores the inhibition and fixing it found, so operations compose like function calls.
//
//   auto batch = engram::assembly::make_batch(backend, spec, ids);
//   project_rounds(*batch, {"stim"}, {"A"}, 20);          // form an assembly in A
//   pattern_complete(*batch, "A", 0.5, 5);                // fire half of it, let recurrence refill
//   associate(*batch, "A", "B", "C", 10);                 // A and B fire together into C
#include <cstdint>
#include <string>
#include <vector>

#include "engram/models/assembly/brain_batch.hpp"

namespace engram::assembly {

// `steps` synchronous steps in which only `sources` fire and only `targets` are updated (an
// area in both lists projects into itself through its recurrent fiber).
void project_rounds(BrainBatch& batch, const std::vector<std::string>& sources,
                    const std::vector<std::string>& targets, int steps);

// A keeps firing (fixed) into B while B also projects back into A: B's assembly and A's
// assembly become mutually linked (A -> B and B -> A fibers both learn).
void reciprocal_project(BrainBatch& batch, const std::string& a, const std::string& b, int steps);

// The assemblies of A and B fire together (fixed) into C, whose recurrence is on.
void associate(BrainBatch& batch, const std::string& a, const std::string& b, const std::string& c, int steps);

// A and B fire into C, and C projects back into A and B; all three are updated each step, and
// the stimuli driving A and B (those not inhibited) keep firing.
void merge(BrainBatch& batch, const std::string& a, const std::string& b, const std::string& c, int steps);

// Fires a random `fraction` of area's current firing set, then `steps` steps of its recurrence
// alone (all other sources silent).
void pattern_complete(BrainBatch& batch, const std::string& area, double fraction, int steps);

// Neurons two increasing lists share.
std::uint32_t shared_neurons(const std::vector<NeuronId>& a, const std::vector<NeuronId>& b);

}  // namespace engram::assembly
