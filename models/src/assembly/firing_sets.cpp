#include "engram/models/assembly/firing_sets.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engram/engine/error.hpp"

namespace engram::assembly {

void check_firing_lists(const std::string& what, const AreaSpec& area,
                        const std::vector<std::vector<NeuronId>>& per_brain, std::size_t brains, bool exactly_k) {
  const std::string prefix = what + "." + area.name;
  if (per_brain.size() != brains) {
    throw Error::bad_input(prefix, to_text(per_brain.size()) + " lists", "needs one list per brain (" + to_text(brains) + ")");
  }
  for (std::size_t b = 0; b < per_brain.size(); ++b) {
    const auto& list = per_brain[b];
    const std::string field = prefix + "[" + to_text(b) + "]";
    if (exactly_k && list.size() != area.k) {
      throw Error::bad_input(field, to_text(list.size()) + " neurons", "must be exactly k = " + to_text(area.k));
    }
    if (list.empty() || list.size() > area.k) {
      throw Error::bad_input(field, to_text(list.size()) + " neurons", "must fire between 1 and k = " + to_text(area.k));
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (list[i] >= area.n) {
        throw Error::bad_input(field, to_text(list[i]), "is not a neuron of an area of n = " + to_text(area.n));
      }
      if (i > 0 && list[i] <= list[i - 1]) throw Error::bad_input(field, to_text(list[i]), "must be strictly increasing");
    }
  }
}

std::vector<NeuronId> assembly_block(const AreaSpec& area, std::uint32_t assembly) {
  const std::uint64_t first = static_cast<std::uint64_t>(assembly) * area.k;
  if (first + area.k > area.n) {
    throw Error::bad_input("activate." + area.name, to_text(assembly),
                           "assembly index needs (i + 1) * k <= n = " + to_text(area.n));
  }
  std::vector<NeuronId> neurons(area.k);
  std::iota(neurons.begin(), neurons.end(), static_cast<NeuronId>(first));
  return neurons;
}

std::vector<NeuronId> random_subset(std::vector<NeuronId> pool, double fraction, RngStream& rng) {
  if (!(fraction > 0.0 && fraction <= 1.0)) throw Error::bad_input("fraction", to_text(fraction), "must be in (0, 1]");
  const auto keep =
      std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(fraction * static_cast<double>(pool.size()))));
  for (std::size_t i = 0; i < keep && i < pool.size(); ++i) {
    const auto j = i + static_cast<std::size_t>(rng.uniform() * static_cast<double>(pool.size() - i));
    std::swap(pool[i], pool[std::min(j, pool.size() - 1)]);
  }
  pool.resize(std::min(keep, pool.size()));
  std::sort(pool.begin(), pool.end());
  return pool;
}

}  // namespace engram::assembly
