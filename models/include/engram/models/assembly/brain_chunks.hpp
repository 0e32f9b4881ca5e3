#pragma once
// The brains of a run, B at a time. An experiment of `brains` brains keyed by one seed runs them
// in batches of at most `batch_size`; brain i is BrainId{seed, i} whichever batch holds it, so its
// trajectory is the same bits for any batch_size.
//
//   for_each_brain_batch(backend, spec, e.seed, e.brains, e.batch_size,
//                        [&](BrainBatch& batch, std::uint32_t first, const std::vector<BrainId>& ids) {
//                          batch.project();   // brain b of the batch is brain first + b of the run
//                        });
#include <cstdint>
#include <functional>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/models/assembly/brain_batch.hpp"
#include "engram/models/assembly/brain_spec.hpp"

namespace engram::assembly {

// Calls run_chunk(first, ids) for consecutive chunks of [0, brains), each at most batch_size.
void for_each_brain_chunk(std::uint64_t seed, std::uint32_t brains, std::uint32_t batch_size,
                          const std::function<void(std::uint32_t first, const std::vector<BrainId>& ids)>& run_chunk);

// for_each_brain_chunk with each chunk's brains made as one batch of `spec` (make_batch).
void for_each_brain_batch(
    Backend& backend, const BrainSpec& spec, std::uint64_t seed, std::uint32_t brains, std::uint32_t batch_size,
    const std::function<void(BrainBatch& batch, std::uint32_t first, const std::vector<BrainId>& ids)>& run_batch);

}  // namespace engram::assembly
