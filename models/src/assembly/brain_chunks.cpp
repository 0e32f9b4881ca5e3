#include "engram/models/assembly/brain_chunks.hpp"

#include <algorithm>
#include <memory>

#include "engram/engine/error.hpp"

namespace engram::assembly {

void for_each_brain_chunk(std::uint64_t seed, std::uint32_t brains, std::uint32_t batch_size,
                          const std::function<void(std::uint32_t first, const std::vector<BrainId>& ids)>& run_chunk) {
  if (batch_size == 0) throw Error::bad_input("batch_size", "0", "must be at least 1");
  for (std::uint32_t first = 0; first < brains; first += batch_size) {
    const std::uint32_t count = std::min(batch_size, brains - first);
    std::vector<BrainId> ids;
    ids.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) ids.push_back(BrainId{seed, first + i});
    run_chunk(first, ids);
  }
}

void for_each_brain_batch(
    Backend& backend, const BrainSpec& spec, std::uint64_t seed, std::uint32_t brains, std::uint32_t batch_size,
    const std::function<void(BrainBatch& batch, std::uint32_t first, const std::vector<BrainId>& ids)>& run_batch) {
  for_each_brain_chunk(seed, brains, batch_size, [&](std::uint32_t first, const std::vector<BrainId>& ids) {
    const std::unique_ptr<BrainBatch> batch = make_batch(backend, spec, ids);
    run_batch(*batch, first, ids);
  });
}

}  // namespace engram::assembly
