#include "cpu_exact_step.hpp"

#include <algorithm>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include <omp.h>

#include "engram/kernels/core/parallel_guard.hpp"
#include "engram/kernels/core/fixed_point.hpp"
#include "engram/kernels/graph/cpu_gnp_row.hpp"

namespace engram::assembly::cpu {

namespace {

// Calls visit(targets, weights, degree) with the out-edge row of each firing neuron of brain b.
template <class Visit>
inline void for_each_firing_row(const graph::RowTable& table, std::size_t b, BrainFiring firing, Visit&& visit) {
  const FlatIndex base = static_cast<FlatIndex>(b) * table.n_source;
  for (std::uint32_t i = 0; i < firing.count; ++i) {
    const FlatIndex slot = base + firing.neurons[i];
    const EdgeOffset start = table.row_start[slot];
    visit(table.targets + start, table.weights + start, table.row_degree[slot]);
  }
}

}  // namespace

void accumulate(const graph::RowTable& table, std::size_t b, BrainFiring firing, FixedInput* inputs) {
  for_each_firing_row(table, b, firing, [&](const NeuronId* targets, const float* weights, std::uint32_t degree) {
    for (std::uint32_t e = 0; e < degree; ++e) inputs[targets[e]] += to_fixed_exact_float(weights[e]);
  });
}

void accumulate_counted(const graph::RowTable& table, std::size_t b, BrainFiring firing, FixedInput* inputs,
                        std::uint16_t* unit_counts) {
  for_each_firing_row(table, b, firing, [&](const NeuronId* targets, const float* weights, std::uint32_t degree) {
    for (std::uint32_t e = 0; e < degree; ++e) {
      const float w = weights[e];
      if (w == 1.0f) ++unit_counts[targets[e]];
      else inputs[targets[e]] += to_fixed_exact_float(w);
    }
  });
}

bool keep_input(const graph::RowTable& table, std::size_t b, BrainFiring firing, NeuronId n,
                std::vector<NeuronId>& kept_firing, bool& held, FixedInput* sums, std::uint16_t* unit_counts) {
  std::vector<NeuronId>& now = thread_firing_list();
  now.assign(firing.neurons, firing.neurons + firing.count);
  if (!std::is_sorted(now.begin(), now.end())) std::sort(now.begin(), now.end());
  // Both lists sorted: one merge finds the sources that left and those that joined (a source
  // listed twice counts twice, as accumulate() would add its row twice).
  const auto merge = [&](auto&& left, auto&& joined) {
    auto old_it = kept_firing.begin();
    auto new_it = now.begin();
    while (old_it != kept_firing.end() || new_it != now.end()) {
      if (new_it == now.end() || (old_it != kept_firing.end() && *old_it < *new_it)) {
        left(*old_it++);
      } else if (old_it == kept_firing.end() || *new_it < *old_it) {
        joined(*new_it++);
      } else {
        ++old_it;
        ++new_it;
      }
    }
  };
  std::size_t changed = 0;
  merge([&](NeuronId) { ++changed; }, [&](NeuronId) { ++changed; });
  const bool keep = !now.empty() && changed * 3 <= now.size() * 2;
  if (!keep) {
    held = false;
  } else if (!held) {
    std::fill_n(sums, n, FixedInput{0});
    const BrainFiring sorted{now.data(), static_cast<std::uint32_t>(now.size())};
    if (unit_counts != nullptr) {
      accumulate_counted(table, b, sorted, sums, unit_counts);
      fold_unit_counts(unit_counts, n, sums);
    } else {
      accumulate(table, b, sorted, sums);
    }
    held = true;
  } else if (changed > 0) {
    const FlatIndex base = static_cast<FlatIndex>(b) * table.n_source;
    const auto row_into_sums = [&](NeuronId source, FixedInput sign) {
      const FlatIndex slot = base + source;
      const EdgeOffset start = table.row_start[slot];
      const NeuronId* targets = table.targets + start;
      const float* weights = table.weights + start;
      const std::uint32_t degree = table.row_degree[slot];
      for (std::uint32_t e = 0; e < degree; ++e) sums[targets[e]] += sign * to_fixed_exact_float(weights[e]);
    };
    merge([&](NeuronId s) { row_into_sums(s, -1); }, [&](NeuronId s) { row_into_sums(s, 1); });
  }
  kept_firing.swap(now);
  return keep;
}

void fold_unit_counts(std::uint16_t* unit_counts, NeuronId n, FixedInput* inputs) {
  static_assert(kFixedOne == 4294967296.0, "a unit weight is 1 << 32 in fixed point");
  for (NeuronId t = 0; t < n; ++t) {
    inputs[t] += static_cast<FixedInput>(unit_counts[t]) << 32;
    unit_counts[t] = 0;
  }
}

std::uint16_t* thread_unit_counts(NeuronId n) {
  static thread_local std::vector<std::uint16_t> counts;
  if (counts.size() < n) counts.resize(n, 0);  // entries past the old size start at 0; folds re-zero the rest
  return counts.data();
}

std::vector<NeuronId>& thread_firing_list() {
  static thread_local std::vector<NeuronId> list;
  return list;
}

std::uint32_t* thread_winner_bits(NeuronId n) {
  static thread_local std::vector<std::uint32_t> bits;
  const std::size_t words = (static_cast<std::size_t>(n) + 31) / 32;
  if (bits.size() < words) bits.resize(words, 0);
  return bits.data();
}

namespace {
inline bool is_winner(const std::uint32_t* winner_bits, NeuronId t) { return (winner_bits[t >> 5] >> (t & 31)) & 1u; }
}  // namespace

void hebbian(const graph::RowTable& table, std::size_t b, BrainFiring firing, const std::uint32_t* winner_bits,
             float factor, float max_weight, FixedInput* sums) {
  const float ceiling = max_weight > 0.0f && max_weight < kMaxWeight ? max_weight : kMaxWeight;
  for_each_firing_row(table, b, firing, [&](const NeuronId* targets, float* weights, std::uint32_t degree) {
    std::uint32_t e = 0;
#if defined(__AVX2__)
    // Eight edges at a time: one gather of their targets' bitmap words; most groups hold no
    // winner (edges into winners are a few percent) and are left untouched. Lanes that hold one
    // are scaled as the scalar loop scales them: (w * factor) capped by min(ceiling, grown),
    // which, like `grown > ceiling ? ceiling : grown`, keeps a NaN.
    const __m256i low5 = _mm256_set1_epi32(31);
    const __m256 factors = _mm256_set1_ps(factor);
    const __m256 ceilings = _mm256_set1_ps(ceiling);
    for (; e + 8 <= degree; e += 8) {
      const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(targets + e));
      const __m256i words = _mm256_i32gather_epi32(reinterpret_cast<const int*>(winner_bits), _mm256_srli_epi32(t, 5), 4);
      const __m256i flags = _mm256_slli_epi32(_mm256_srlv_epi32(words, _mm256_and_si256(t, low5)), 31);
      if (_mm256_testz_si256(flags, flags)) continue;
      const __m256 w = _mm256_loadu_ps(weights + e);
      const __m256 capped = _mm256_min_ps(ceilings, _mm256_mul_ps(w, factors));
      if (sums != nullptr) {
        alignas(32) float before[8];
        _mm256_store_ps(before, w);
        _mm256_storeu_ps(weights + e, _mm256_blendv_ps(w, capped, _mm256_castsi256_ps(flags)));
        for (int lanes = _mm256_movemask_ps(_mm256_castsi256_ps(flags)); lanes != 0; lanes &= lanes - 1) {
          const int i = __builtin_ctz(static_cast<unsigned>(lanes));
          sums[targets[e + i]] += to_fixed_exact_float(weights[e + i]) - to_fixed_exact_float(before[i]);
        }
        continue;
      }
      _mm256_storeu_ps(weights + e, _mm256_blendv_ps(w, capped, _mm256_castsi256_ps(flags)));
    }
#endif
    for (; e < degree; ++e) {
      if (!is_winner(winner_bits, targets[e])) continue;
      const float before = weights[e];
      const float grown = before * factor;
      weights[e] = grown > ceiling ? ceiling : grown;
      if (sums != nullptr) sums[targets[e]] += to_fixed_exact_float(weights[e]) - to_fixed_exact_float(before);
    }
  });
}

EdgeOffset RowGenerator::generate(const graph::FiberGraph& graph, const graph::RowRequests& requests, RowCache* shared) {
  const int threads = shared != nullptr
                          ? 1
                          : std::max(1, std::min<int>(omp_get_max_threads(), static_cast<int>(requests.count / 64 + 1)));
  if (parts_.size() < static_cast<std::size_t>(threads)) parts_.resize(static_cast<std::size_t>(threads));
  for (Part& part : parts_) {  // parts beyond the threads that run stay empty
    part.first = part.last = 0;
    part.targets.clear();
    part.degree.clear();
    part.cached.clear();
    part.edges = 0;
  }
  // Rows grow by push_back: out of memory on a worker is rethrown below, not an abort.
  ParallelGuard guard;
#pragma omp parallel num_threads(threads)
  guard.run([&] {
    const auto t = static_cast<std::int64_t>(omp_get_thread_num());
    const auto count = static_cast<std::int64_t>(omp_get_num_threads());
    Part& part = parts_[static_cast<std::size_t>(t)];
    part.first = requests.count * t / count;
    part.last = requests.count * (t + 1) / count;
    for (std::int64_t r = part.first; r < part.last; ++r) {
      const std::uint32_t b = requests.brain[r];
      const NeuronId s = requests.source[r];
      const std::size_t before = part.targets.size();
      const NeuronId excluded = graph.exclude_self ? s : graph::kNoExclusion;
      const auto make = [&](std::vector<NeuronId>& out) {
        graph::cpu_gnp_row(graph.graph_seed[b], graph.fiber, s, graph.n_target, graph.p[b], excluded,
                           [&](NeuronId target) { out.push_back(target); });
      };
      const std::vector<NeuronId>* cached =
          shared != nullptr
              ? shared->row(graph.fiber, graph.graph_seed[b], graph.p[b], graph.n_target, graph.exclude_self, s, make)
              : nullptr;
      if (shared != nullptr) part.cached.push_back(cached != nullptr ? cached->data() : nullptr);
      if (cached != nullptr) {  // copied once, by write(), straight from the cache into the pool
        part.degree.push_back(static_cast<std::uint32_t>(cached->size()));
        part.edges += cached->size();
        continue;
      }
      make(part.targets);
      part.degree.push_back(static_cast<std::uint32_t>(part.targets.size() - before));
      part.edges += part.targets.size() - before;
    }
  });
  guard.rethrow();
  EdgeOffset total = 0;
  for (const Part& part : parts_) total += static_cast<EdgeOffset>(part.edges);
  return total;
}

void RowGenerator::write(const graph::RowRequests& requests, EdgeOffset base, const graph::RowTable& table,
                         float initial_weight) const {
  std::vector<EdgeOffset> part_base(parts_.size());
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    part_base[i] = base;
    base += static_cast<EdgeOffset>(parts_[i].edges);
  }
  const auto busy = static_cast<int>(
      std::count_if(parts_.begin(), parts_.end(), [](const Part& part) { return part.first != part.last; }));
#pragma omp parallel for schedule(static) num_threads(std::max(busy, 1)) if (busy > 1)
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    const Part& part = parts_[i];
    if (part.first == part.last) continue;
    if (part.cached.empty()) std::memcpy(table.targets + part_base[i], part.targets.data(), part.edges * sizeof(NeuronId));
    std::fill_n(table.weights + part_base[i], part.edges, initial_weight);
    EdgeOffset start = part_base[i];
    const NeuronId* generated = part.targets.data();
    for (std::int64_t r = part.first; r < part.last; ++r) {
      const auto index = static_cast<std::size_t>(r - part.first);
      const std::uint32_t degree = part.degree[index];
      if (!part.cached.empty()) {  // rows from a cache, or generated here when it held another graph
        const NeuronId* from = part.cached[index] != nullptr ? part.cached[index] : generated;
        if (part.cached[index] == nullptr) generated += degree;
        if (degree > 0) std::memcpy(table.targets + start, from, degree * sizeof(NeuronId));
      }
      const FlatIndex slot = static_cast<FlatIndex>(requests.brain[r]) * table.n_source + requests.source[r];
      table.row_start[slot] = start;
      table.row_degree[slot] = degree;
      start += degree;
    }
  }
}

}  // namespace engram::assembly::cpu
