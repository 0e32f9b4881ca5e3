#pragma once
// Firing sets given by the caller (set_firing, activate, clamp_next, pattern-completion cues),
// checked and built the same way by every fidelity mode.
#include <cstdint>
#include <string>
#include <vector>

#include "engram/kernels/core/random.hpp"
#include "engram/models/assembly/brain_spec.hpp"

namespace engram::assembly {

// One strictly increasing list of neurons < n per brain, 1..k long (exactly k when
// `exactly_k`); throws engram::Error naming `what.area[brain]` and the bad value.
void check_firing_lists(const std::string& what, const AreaSpec& area,
                        const std::vector<std::vector<NeuronId>>& per_brain, std::size_t brains, bool exactly_k);

// Assembly i of an area: neurons [i*k, (i+1)*k); throws if it does not fit in n.
std::vector<NeuronId> assembly_block(const AreaSpec& area, std::uint32_t assembly);

// A uniformly random subset of round(fraction * size) (at least 1) of `pool`, increasing.
// Partial Fisher-Yates on the caller's keyed stream, so the choice is reproducible.
std::vector<NeuronId> random_subset(std::vector<NeuronId> pool, double fraction, RngStream& rng);

}  // namespace engram::assembly
