#pragma once
// The CPU k-cap of one brain: the k largest of n fixed-point inputs, ties broken by the lower
// neuron index, winners written in increasing neuron order — the same selection as the portable
// radix select of kcap.hpp (which stays the CUDA path and the tested reference), in one pass.
//
// A k-entry min-heap holds the best neurons seen so far, its root the worst of them. Neurons are
// visited in increasing index order, so a neuron whose input equals the root's loses the tie
// (its index is higher) and only a strictly larger input enters: after the pass the heap holds
// exactly the k best by (input descending, index ascending). Expected cost n comparisons plus
// O(k log(n/k) log k) heap work for inputs in random order; host-only (std::vector scratch).
// When k is a sizeable share of n (a lazy area's support) most neurons would enter the heap, so
// the k-th largest input is found instead by std::nth_element over a copy, and one pass in index
// order takes every input above it and the lowest-indexed ones equal to it: the same winners, in
// increasing order without a sort.
//
//   engram::select::cpu_kcap(inputs, n, k, winners, engram::select::thread_heap());
#include <algorithm>
#include <cstdint>
#include <vector>

#include "engram/kernels/core/fixed_point.hpp"
#include "engram/kernels/core/types.hpp"

namespace engram::select {

struct KcapCandidate {
  FixedInput input;
  NeuronId neuron;
};

// The calling thread's heap, kept for its lifetime (OpenMP's pool threads persist), so a k-cap
// allocates nothing once warm.
inline std::vector<KcapCandidate>& thread_heap() {
  static thread_local std::vector<KcapCandidate> heap;
  return heap;
}

// The calling thread's copy of the inputs for the threshold search, kept like thread_heap().
inline std::vector<FixedInput>& thread_inputs() {
  static thread_local std::vector<FixedInput> values;
  return values;
}

// Requires 1 <= k <= n: the winners by the k-th largest input (see above).
inline void cpu_kcap_by_threshold(const FixedInput* inputs, NeuronId n, std::uint32_t k, NeuronId* winners) {
  std::vector<FixedInput>& values = thread_inputs();
  values.assign(inputs, inputs + n);
  const auto kth = values.begin() + (k - 1);
  std::nth_element(values.begin(), kth, values.end(), [](FixedInput a, FixedInput b) { return a > b; });
  const FixedInput threshold = *kth;
  std::uint32_t ties = 0;  // how many inputs equal to the threshold win
  for (auto it = values.begin(); it <= kth; ++it) ties += *it == threshold;
  std::uint32_t out = 0;
  for (NeuronId i = 0; i < n; ++i) {
    const FixedInput x = inputs[i];
    if (x > threshold || (x == threshold && ties > 0)) {
      ties -= x == threshold;
      winners[out++] = i;
    }
  }
}

// Requires 1 <= k <= n.
inline void cpu_kcap(const FixedInput* inputs, NeuronId n, std::uint32_t k, NeuronId* winners,
                     std::vector<KcapCandidate>& heap) {
  if (std::uint64_t{k} * 16 >= n) {
    cpu_kcap_by_threshold(inputs, n, k, winners);
    return;
  }
  // "a is better than b": the heap keeps its worst entry on top.
  const auto better = [](const KcapCandidate& a, const KcapCandidate& b) {
    return a.input != b.input ? a.input > b.input : a.neuron < b.neuron;
  };
  heap.resize(k);
  for (std::uint32_t i = 0; i < k; ++i) heap[i] = KcapCandidate{inputs[i], i};
  std::make_heap(heap.begin(), heap.end(), better);
  FixedInput floor_input = heap.front().input;
  for (NeuronId i = k; i < n; ++i) {
    if (inputs[i] <= floor_input) continue;
    // Replace the root and sift it down (std::pop_heap/push_heap would do two sifts).
    const KcapCandidate entry{inputs[i], i};
    std::size_t hole = 0;
    for (;;) {
      std::size_t child = 2 * hole + 1;
      if (child >= k) break;
      if (child + 1 < k && better(heap[child], heap[child + 1])) ++child;
      if (!better(entry, heap[child])) break;
      heap[hole] = heap[child];
      hole = child;
    }
    heap[hole] = entry;
    floor_input = heap.front().input;
  }
  for (std::uint32_t i = 0; i < k; ++i) winners[i] = heap[i].neuron;
  std::sort(winners, winners + k);
}

}  // namespace engram::select
