#include "engram/models/assembly/lazy_batch.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include <omp.h>

#include "engram/engine/backend/launch.hpp"
#include "engram/engine/error.hpp"
#include "engram/kernels/core/parallel_guard.hpp"
#include "engram/kernels/graph/cpu_gnp_row.hpp"
#include "engram/kernels/graph/gnp.hpp"
#include "engram/kernels/plasticity/sparse_hebbian.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/assembly/firing_sets.hpp"
#include "engram/kernels/select/cpu_kcap.hpp"
#include "engram/kernels/select/tail_memory.hpp"
#include "engram/kernels/select/tail_topk.hpp"
#include "engram/models/assembly/purposes.hpp"

namespace engram::assembly {

namespace {

// One brain per work item across OpenMP threads. A brain's step allocates (materialised
// neurons, candidate lists): out of memory there is rethrown here, on the calling thread,
// instead of aborting the process from a worker.
// No more threads than brains: a spare thread would only wake up to find nothing to do.
template <class F>
void for_each_brain(std::size_t brains, const F& item) {
  ParallelGuard guard;
  const int threads = static_cast<int>(std::min<std::size_t>(brains, static_cast<std::size_t>(omp_get_max_threads())));
#pragma omp parallel for schedule(dynamic) num_threads(std::max(threads, 1)) if (threads > 1)
  for (std::size_t b = 0; b < brains; ++b) guard.run([&] { item(b); });
  guard.rethrow();
}

std::uint64_t derive_area_seed(const BrainId& id, std::size_t area) {
  RngStream rng(RngKey{id.seed, id.index, purpose::lazy_area_seed, 0, static_cast<std::uint32_t>(area)});
  return rng.next_u64();
}

// Uniform integer in [0, bound), 1 <= bound < 2^53. Converted through signed integers: the same
// values as unsigned ones below 2^63, without the unsigned conversions' extra branches.
std::uint64_t uniform_below(RngStream& rng, std::uint64_t bound) {
  const auto draw = static_cast<std::int64_t>(rng.uniform() * static_cast<double>(static_cast<std::int64_t>(bound)));
  return std::min(static_cast<std::uint64_t>(draw), bound - 1);
}

// Appends host values to a grow-only backend buffer holding `count` elements.
template <class T>
void append(Backend& backend, Buffer<T>& buffer, std::size_t count, const std::vector<T>& values) {
  if (values.empty()) return;
  buffer.reserve_keep(count + values.size());
  backend.copy_from_host(buffer.data() + count, values.data(), values.size() * sizeof(T));
}

template <class T>
void upload_prefix(Backend& backend, Buffer<T>& buffer, const std::vector<T>& values) {
  if (values.empty()) return;
  if (buffer.size() < values.size()) buffer.reserve_keep(values.size());
  backend.copy_from_host(buffer.data(), values.data(), values.size() * sizeof(T));
}

}  // namespace

LazyBatch::Pmf LazyBatch::binomial(std::uint32_t trials, double p) {
  std::int64_t lo = 0, hi = 0;
  select::binomial_range(trials, p, lo, hi);
  Pmf pmf{lo, std::vector<double>(static_cast<std::size_t>(hi - lo + 1))};
  select::binomial_pmf(trials, p, lo, hi, pmf.mass.data());
  return pmf;
}

LazyBatch::Pmf LazyBatch::sum(const Pmf& a, const Pmf& b) {
  Pmf out{a.lo + b.lo, std::vector<double>(a.mass.size() + b.mass.size() - 1)};
  select::convolve(a.mass.data(), static_cast<std::int64_t>(a.mass.size()), b.mass.data(),
                   static_cast<std::int64_t>(b.mass.size()), out.mass.data());
  return out;
}

// Drops both ends where the mass is below 1e-40 of the largest (as binomial_range does): far below
// anything a run of up to 10^9 neurons can see, and it keeps the carried tables short.
LazyBatch::Pmf LazyBatch::trimmed(Pmf pmf) {
  double top = 0.0;
  for (const double m : pmf.mass) top = std::max(top, m);
  const double cut = top * 1e-40;
  std::size_t first = 0, last = pmf.mass.size();
  while (first + 1 < last && !(pmf.mass[first] >= cut)) ++first;
  while (last > first + 1 && !(pmf.mass[last - 1] >= cut)) --last;
  pmf.mass.erase(pmf.mass.begin() + static_cast<std::ptrdiff_t>(last), pmf.mass.end());
  pmf.mass.erase(pmf.mass.begin(), pmf.mass.begin() + static_cast<std::ptrdiff_t>(first));
  pmf.lo += static_cast<std::int64_t>(first);
  return pmf;
}

LazyBatch::LazyBatch(Backend& backend, BrainSpec spec, std::vector<BrainId> brains)
    : BatchControls(spec), backend_(backend), spec_(std::move(spec)), brains_(std::move(brains)) {
  if (spec_.mode != GraphMode::lazy) {
    throw Error::bad_input("mode", to_string(spec_.mode), "assembly::LazyBatch runs the lazy mode; use make_batch()");
  }
  if (brains_.empty()) throw Error::bad_input("brains", "0", "a batch needs at least one brain");
  const std::size_t B = brains_.size();
  brain_scratch_.resize(B);
  for (std::size_t a = 0; a < spec_.areas.size(); ++a) {
    AreaState state;
    state.brains.resize(B);
    for (std::size_t b = 0; b < B; ++b) {
      AreaBrain& ab = state.brains[b];
      ab.seed = derive_area_seed(brains_[b], a);
      ab.fires_device = Buffer<std::uint8_t>(backend_, 0);
      ab.wins_device = Buffer<std::uint8_t>(backend_, 0);
    }
    state.inputs = Buffer<FixedInput>(backend_, 0);
    state.winners = Buffer<NeuronId>(backend_, B * spec_.areas[a].k);
    areas_.push_back(std::move(state));
  }
  for (const StimulusSpec& s : spec_.stimuli) {
    stimulus_fires_.emplace_back(backend_, std::vector<std::uint8_t>(s.k, 1));
  }
  for (std::size_t f = 0; f < spec_.fibers.size(); ++f) {
    const FiberSpec& fs = spec_.fibers[f];
    FiberState fiber;
    const int stimulus = spec_.stimulus_index(fs.from);
    fiber.from_stimulus = stimulus >= 0;
    fiber.source = fiber.from_stimulus ? static_cast<std::size_t>(stimulus)
                                       : static_cast<std::size_t>(spec_.area_index(fs.from));
    fiber.target = static_cast<std::size_t>(spec_.area_index(fs.to));
    fiber.p = spec_.fiber_p(f);
    fiber.beta = fs.beta;
    fiber.exclude_self = !fiber.from_stimulus && fiber.source == fiber.target &&
                         !spec_.areas[fiber.target].self_loops;
    fiber.brains.resize(B);
    for (FiberBrain& fb : fiber.brains) {
      fb.source = Buffer<NeuronId>(backend_, 0);
      fb.target = Buffer<NeuronId>(backend_, 0);
      fb.weight = Buffer<float>(backend_, 0);
    }
    fibers_.push_back(std::move(fiber));
  }
}

namespace {

// `into` (empty) takes `from`'s allocation, emptied.
template <class T>
void take_emptied(std::vector<T>& into, std::vector<T>& from) {
  into.swap(from);
  into.clear();
}

}  // namespace

void LazyBatch::reuse_storage(LazyBatch& spent) {
  if (steps_ != 0 || &spent == this) throw Error::internal("LazyBatch::reuse_storage: call it on a fresh batch");
  if (spent.areas_.size() != areas_.size() || spent.fibers_.size() != fibers_.size() ||
      spent.brains_.size() != brains_.size() || &spent.backend_ != &backend_) {
    return;  // another shape: nothing fits
  }
  // Buffers hold `count` (or support) valid elements, tracked outside them: a larger one taken
  // over with a zero count is the same state as a fresh empty one.
  for (std::size_t a = 0; a < areas_.size(); ++a) {
    AreaState& area = areas_[a];
    AreaState& old = spent.areas_[a];
    if (old.inputs.size() > area.inputs.size()) area.inputs.swap(old.inputs);
    for (std::size_t b = 0; b < brains_.size(); ++b) {
      AreaBrain& ab = area.brains[b];
      AreaBrain& from = old.brains[b];
      ab.fires_device.swap(from.fires_device);
      ab.wins_device.swap(from.wins_device);
      take_emptied(ab.firing, from.firing);
      take_emptied(ab.previous, from.previous);
      take_emptied(ab.fires, from.fires);
      take_emptied(ab.scratch, from.scratch);
      take_emptied(ab.potentials, from.potentials);
      take_emptied(ab.next, from.next);
      take_emptied(ab.fresh_input, from.fresh_input);
      take_emptied(ab.host_inputs, from.host_inputs);
      take_emptied(ab.host_wins, from.host_wins);
    }
  }
  for (std::size_t f = 0; f < fibers_.size(); ++f) {
    for (std::size_t b = 0; b < brains_.size(); ++b) {
      FiberBrain& fb = fibers_[f].brains[b];
      FiberBrain& from = spent.fibers_[f].brains[b];
      fb.source.swap(from.source);
      fb.target.swap(from.target);
      fb.weight.swap(from.weight);
      take_emptied(fb.new_source, from.new_source);
      take_emptied(fb.new_target, from.new_target);
      for (auto [into, out] : {std::pair{&fb.by_source, &from.by_source}, std::pair{&fb.rebuilt, &from.rebuilt}}) {
        take_emptied(into->offset, out->offset);
        take_emptied(into->edge, out->edge);
        take_emptied(into->target, out->target);
        take_emptied(into->weight, out->weight);
      }
      take_emptied(fb.rebuild_cursor, from.rebuild_cursor);
      take_emptied(fb.seen, from.seen);
      take_emptied(fb.target_input, from.target_input);
      take_emptied(fb.target_begin, from.target_begin);
    }
  }
  spent.fibers_.clear();  // its edges are gone: it must not step again
  spent.areas_.clear();
}

// ---- sources ------------------------------------------------------------------------------------

const std::uint8_t* LazyBatch::fires_device(const FiberState& fiber, std::size_t brain) const {
  if (fiber.from_stimulus) return stimulus_fires_[fiber.source].data();
  return areas_[fiber.source].brains[brain].fires_device.data();
}

graph::SparseEdges LazyBatch::sparse(FiberBrain& fb) const {
  return graph::SparseEdges{fb.source.data(), fb.target.data(), fb.weight.data()};
}

void LazyBatch::sync_fires(std::size_t a) {
  for (AreaBrain& ab : areas_[a].brains) upload_prefix(backend_, ab.fires_device, ab.fires);
}

// ---- one step -----------------------------------------------------------------------------------

void LazyBatch::Split::add(Pmf law, std::size_t count) {
  part.push_back(std::move(law));
  sources.push_back(static_cast<std::int64_t>(count));
}

void LazyBatch::Split::build() {
  suffix.resize(part.size());
  if (part.empty()) return;
  suffix.back() = part.back();
  for (std::size_t i = part.size() - 1; i-- > 0;) suffix[i] = sum(part[i], suffix[i + 1]);
}

void LazyBatch::Split::draw(std::int64_t x, RngStream& rng, std::vector<std::int64_t>& shares) const {
  shares.assign(part.size(), 0);
  for (std::size_t i = 0; i < part.size(); ++i) {
    std::int64_t share = x;
    if (i + 1 < part.size()) {
      const Pmf& a = part[i];
      const Pmf& r = suffix[i + 1];
      share = select::split_first(a.mass.data(), a.lo, static_cast<std::int64_t>(a.mass.size()), r.mass.data(),
                                  r.lo, static_cast<std::int64_t>(r.mass.size()), x, rng.uniform());
    }
    shares[i] = std::clamp<std::int64_t>(share, 0, std::min(x, sources[i]));
    x -= shares[i];
  }
}

// The input distribution of a never-fired neuron of `t` this step (and, with `draw_all`, the best
// `min(k, n - support)` draws of it: the portable path). The law carries over from the area's last update
// (select/tail_memory.hpp): the edges from sources that fire again are kept, those from sources
// new to the area are fresh binomials.
void LazyBatch::plan(std::size_t t, std::size_t b, bool draw_all) {
  AreaBrain& ab = areas_[t].brains[b];
  const AreaSpec& spec = spec_.areas[t];
  ab.active.clear();
  ab.firing_split.part.clear();
  ab.firing_split.sources.clear();
  for (std::size_t f = 0; f < fibers_.size(); ++f) {
    if (fibers_[f].target == t && source_firing(fibers_[f])) ab.active.push_back(f);
  }
  if (ab.active.empty()) {
    ab.potentials.clear();
    return;
  }
  // Sources behind the remembered input (`seen`, M of them) and those of them firing again (K).
  std::int64_t seen = 0, kept = 0;
  double seen_weight = 0.0, kept_weight = 0.0;
  double shared_p = -1.0;
  bool one_p = true;
  Pmf fresh{0, {1.0}};
  for (std::size_t f = 0; f < fibers_.size(); ++f) {
    const FiberState& fiber = fibers_[f];
    if (fiber.target != t) continue;
    FiberBrain& fb = fibers_[f].brains[b];
    const bool active = std::find(ab.active.begin(), ab.active.end(), f) != ab.active.end();
    const std::uint32_t firing = active ? firing_count(fiber, b) : 0;
    std::uint32_t again = 0;
    for (std::uint32_t i = 0, j = 0; i < firing && j < fb.seen.size();) {
      const NeuronId id = firing_neuron(fiber, b, i);
      if (id < fb.seen[j]) ++i;
      else if (fb.seen[j] < id) ++j;
      else { ++again; ++i; ++j; }
    }
    if (!fb.seen.empty()) {
      seen += static_cast<std::int64_t>(fb.seen.size());
      kept += again;
      seen_weight += fiber.p * static_cast<double>(fb.seen.size());
      kept_weight += fiber.p * static_cast<double>(again);
      if (shared_p < 0.0) shared_p = fiber.p;
      one_p &= fiber.p == shared_p;
    }
    if (firing > again) fresh = sum(fresh, binomial(firing - again, fiber.p));
    if (active) ab.firing_split.add(binomial(firing, fiber.p), firing);
    fb.seen.resize(firing);
    for (std::uint32_t i = 0; i < firing; ++i) fb.seen[i] = firing_neuron(fiber, b, i);
  }
  ab.firing_split.build();
  const Pmf& last = ab.last_input;
  Pmf carried{0, std::vector<double>(static_cast<std::size_t>(last.lo) + last.mass.size())};
  ab.scratch.resize(carried.mass.size());
  const auto len = static_cast<std::int64_t>(last.mass.size());
  if (kept == seen) {
    carried = last;
  } else if (one_p) {
    select::thin_hypergeometric(last.mass.data(), last.lo, len, seen, kept, carried.mass.data(), ab.scratch.data());
  } else {
    select::thin_binomial(last.mass.data(), last.lo, len, kept_weight / seen_weight, carried.mass.data(),
                          ab.scratch.data());
  }
  ab.step_input = trimmed(sum(carried, fresh));

  const std::uint64_t population = spec.n - ab.support;
  const auto count = static_cast<std::uint32_t>(std::min<std::uint64_t>(spec.k, population));
  ab.potentials.clear();
  if (count == 0) return;
  const Pmf& total = ab.step_input;
  std::vector<double>& sf = ab.scratch;
  sf.resize(total.mass.size());
  select::survival(total.mass.data(), static_cast<std::int64_t>(sf.size()), sf.data());
  if (!draw_all) return;
  select::TopOrderStream stream = candidate_stream(t, b);
  for (std::uint32_t i = 0; i < count; ++i) ab.potentials.push_back(stream.next());
  ab.level = stream.level();
}

select::TopOrderStream LazyBatch::candidate_stream(std::size_t t, std::size_t b) const {
  const AreaBrain& ab = areas_[t].brains[b];
  const RngKey key{ab.seed, brains_[b].index, purpose::lazy_potentials, static_cast<std::uint32_t>(steps_), 0};
  return select::TopOrderStream(ab.scratch.data(), ab.step_input.lo, static_cast<std::int64_t>(ab.scratch.size()),
                                spec_.areas[t].n - ab.support, key);
}

bool LazyBatch::host_path() const { return !portable_kernels_ && backend_.kind() == BackendKind::cpu; }

void LazyBatch::select_on_host(std::size_t t, std::size_t b) {
  AreaBrain& ab = areas_[t].brains[b];
  std::vector<FixedInput>& row = ab.host_inputs;
  row.assign(ab.support, FixedInput{0});
  for (const std::size_t f : ab.active) {
    FiberState& fiber = fibers_[f];
    FiberBrain& fb = fiber.brains[b];
    if (fiber.from_stimulus) {  // every stimulus neuron fires: the kept per-target sums
      refresh_target_input(fb);
      const std::vector<FixedInput>& sums = fb.target_input;
      const std::size_t covered = std::min<std::size_t>(sums.size(), ab.support);
      for (std::size_t i = 0; i < covered; ++i) row[i] += sums[i];
      continue;
    }
    const AreaBrain& source = areas_[fiber.source].brains[b];
    for_firing_edges(fb, source.firing, source.fires.data(),
                     [&](float& weight, NeuronId to) { row[to] += to_fixed_exact_float(weight); });
  }
  cap_with_candidates(t, b);
}

// The k-cap over the materialised inputs (host_inputs) and the never-fired candidates, drawn
// largest first until one loses: each candidate ranks below the materialised inputs at least as
// large (ties: lower index, so materialised first) and below the candidates before it, and every
// later candidate is no larger, so the rest would lose too. The winners are those of a k-cap over
// the materialised inputs followed by all min(k, n - support) candidates (the portable path's).
void LazyBatch::cap_with_candidates(std::size_t t, std::size_t b) {
  AreaBrain& ab = areas_[t].brains[b];
  const std::vector<FixedInput>& row = ab.host_inputs;
  const std::uint32_t k = spec_.areas[t].k;
  const std::uint32_t support = ab.support;
  const std::uint32_t m = std::min(k, support);
  const auto larger = [](FixedInput x, FixedInput y) { return x > y; };
  // top: the m largest materialised inputs (top[m - 1] the smallest of them once m == k).
  std::vector<FixedInput>& top = select::thread_inputs();
  top.assign(row.begin(), row.end());
  if (support >= k) std::nth_element(top.begin(), top.begin() + (k - 1), top.end(), larger);
  top.resize(m);
  const std::uint64_t population = spec_.areas[t].n - support;
  const auto count = static_cast<std::uint32_t>(std::min<std::uint64_t>(k, population));
  std::uint32_t fresh_winners = 0;
  bool sorted = false;
  if (count > 0 && !ab.active.empty()) {
    select::TopOrderStream stream = candidate_stream(t, b);
    std::uint32_t above = 0;  // materialised inputs >= the current candidate
    while (stream.drawn() < count) {
      const std::int64_t value = stream.next();
      ab.potentials.push_back(value);
      const FixedInput input = value * (FixedInput{1} << 32);
      if (m == k && input <= top[k - 1]) break;  // k materialised inputs rank above it
      if (!sorted) {
        std::sort(top.begin(), top.end(), larger);
        sorted = true;
      }
      while (above < m && top[above] >= input) ++above;
      if (above + fresh_winners >= k) break;
      ++fresh_winners;
    }
    ab.level = stream.level();
  }
  // The k - fresh_winners best materialised inputs by (input descending, index ascending): every
  // input above the threshold and the lowest-indexed ones equal to it.
  const std::uint32_t kept = k - fresh_winners;
  ab.next.resize(k);
  std::uint32_t out = 0;
  if (kept > 0) {
    const FixedInput threshold = top[kept - 1];  // sorted, or kept == k == m: the nth_element
    std::uint32_t ties = 0;
    for (std::uint32_t i = 0; i < kept; ++i) ties += top[i] == threshold;
    for (NeuronId i = 0; i < support && out < kept; ++i) {
      const FixedInput x = row[i];
      if (x > threshold || (x == threshold && ties > 0)) {
        ties -= x == threshold;
        ab.next[out++] = i;
      }
    }
  }
  for (std::uint32_t i = 0; i < fresh_winners; ++i) ab.next[out++] = support + i;
}

void LazyBatch::take_fresh_inputs(std::size_t t, std::size_t b) {
  AreaBrain& ab = areas_[t].brains[b];
  std::size_t fresh_winners = 0;
  for (const NeuronId id : ab.next) fresh_winners += id >= ab.support;
  // Candidates past the first loser never mattered: keep only those the host path draws
  // (cap_with_candidates), so that both paths remember the same law for the losers.
  const std::size_t drawn = std::min(fresh_winners + 1, ab.potentials.size());
  if (drawn < ab.potentials.size()) {
    ab.potentials.resize(drawn);
    select::TopOrderStream stream = candidate_stream(t, b);
    for (std::size_t i = 0; i < drawn; ++i) stream.next();
    ab.level = stream.level();
  }
  for (const NeuronId id : ab.next) {
    if (id < ab.support) continue;
    // Candidates are sorted descending, so the chosen ones are a prefix: the i-th new winner
    // is candidate i and becomes neuron support + i.
    const std::size_t i = id - ab.support;
    if (i != ab.fresh_input.size() || i >= ab.potentials.size()) {
      throw Error::internal("lazy k-cap picked candidates out of order");
    }
    ab.fresh_input.push_back(ab.potentials[i]);
  }
  // The never-fired neurons left are those that lost: remember their law for the next step.
  const std::uint64_t population = spec_.areas[t].n - ab.support;
  const auto winners = static_cast<std::uint32_t>(ab.fresh_input.size());
  if (population == winners) {
    ab.last_input = Pmf{0, {1.0}};
    return;
  }
  const Pmf& law = ab.step_input;
  Pmf losers{law.lo, std::vector<double>(law.mass.size())};
  select::keep_losers(law.mass.data(), law.lo, static_cast<std::int64_t>(law.mass.size()), population,
                      ab.potentials.data(), static_cast<std::uint32_t>(ab.potentials.size()), ab.level, winners,
                      losers.mass.data());
  ab.last_input = trimmed(std::move(losers));
}

void LazyBatch::learn_on_host(std::size_t t, std::size_t b) {
  AreaBrain& ab = areas_[t].brains[b];
  ab.host_wins.assign(ab.support, 0);
  for (const NeuronId id : ab.next) ab.host_wins[id] = 1;
  for (FiberState& fiber : fibers_) {
    if (fiber.target != t || !source_firing(fiber) || !plastic(fiber) || fiber.beta == 0.0) continue;
    const auto factor = static_cast<float>(1.0 + fiber.beta);
    FiberBrain& fb = fiber.brains[b];
    float* weight = fb.weight.data();
    const std::vector<std::uint8_t>& wins = ab.host_wins;
    const NeuronId* target = fb.target.data();
    // Branch-free: about a quarter of the visited edges end at a winner, in no pattern a branch
    // predictor can learn; a loser's weight is stored back unchanged (a bit select, so exact).
    const auto grow = [&](float& weight_of_edge, NeuronId to) {
      const float w = weight_of_edge;
      const float grown = w * factor;
      const float clamped = grown > kMaxWeight ? kMaxWeight : grown;
      const std::uint32_t keep = std::bit_cast<std::uint32_t>(w), take = std::bit_cast<std::uint32_t>(clamped);
      const std::uint32_t mask = 0u - static_cast<std::uint32_t>(wins[to] != 0);
      weight_of_edge = std::bit_cast<float>((take & mask) | (keep & ~mask));
    };
    if (fiber.from_stimulus) {  // every stimulus neuron fired: each winner's in-edges
      refresh_target_input(fb);
      FixedInput* sums = fb.target_input.data();
      const auto grow_counted = [&](std::size_t e, NeuronId to) {
        const float old_weight = weight[e];
        const float grown = old_weight * factor;
        weight[e] = grown > kMaxWeight ? kMaxWeight : grown;
        sums[to] += to_fixed_exact_float(weight[e]) - to_fixed_exact_float(old_weight);
      };
      if (!fb.by_target) {
        for (std::size_t e = 0; e < fb.count; ++e) {
          if (wins[target[e]]) grow_counted(e, target[e]);
        }
        continue;
      }
      const auto targets = static_cast<NeuronId>(fb.target_begin.size());
      for (const NeuronId to : ab.next) {
        if (to >= targets) break;  // increasing ids: the rest have no in-edges from the fiber
        const std::size_t begin = fb.target_begin[to];
        const std::size_t end = to + 1 < targets ? fb.target_begin[to + 1] : fb.count;
        if (begin == end) continue;
        // A target's stimulus in-edges are all added when it is materialised and all scaled
        // together (every stimulus neuron fires), so they share one weight: scale it once and add
        // the change of the fixed-point sum once per edge as one product (the same integer).
        const float old_weight = weight[begin];
        const auto old_bits = std::bit_cast<std::uint32_t>(old_weight);
        bool shared = true;
        for (std::size_t e = begin + 1; e < end; ++e) shared &= std::bit_cast<std::uint32_t>(weight[e]) == old_bits;
        if (!shared) {
          for (std::size_t e = begin; e < end; ++e) grow_counted(e, to);
          continue;
        }
        const float grown = old_weight * factor;
        const float new_weight = grown > kMaxWeight ? kMaxWeight : grown;
        std::fill(weight + begin, weight + end, new_weight);
        sums[to] += static_cast<FixedInput>(end - begin) *
                    (to_fixed_exact_float(new_weight) - to_fixed_exact_float(old_weight));
      }
      continue;
    }
    const AreaBrain& source = areas_[fiber.source].brains[b];
    for_firing_edges(fb, source.firing, source.fires.data(), grow);
  }
}

bool LazyBatch::learns(std::size_t t) const {
  for (const FiberState& fiber : fibers_) {
    if (fiber.target == t && source_firing(fiber) && plastic(fiber) && fiber.beta != 0.0) return true;
  }
  return false;
}

void LazyBatch::step_on_host(std::size_t b) {
  const std::size_t A = areas_.size();
  // 1-3: inputs of the materialised neurons, the best never-fired candidates, k-cap.
  for (std::size_t t = 0; t < A; ++t) {
    AreaState& area = areas_[t];
    if (!area.updated) continue;
    AreaBrain& ab = area.brains[b];
    if (area_fixed(t) && area.fired) {
      ab.next = ab.firing;
      continue;
    }
    plan(t, b, false);
    select_on_host(t, b);
    take_fresh_inputs(t, b);
  }
  // 4: materialise the new winners (in-edges conditioned on their inputs, out-edges fresh).
  BrainScratch& scratch = brain_scratch_[b];
  scratch.old_support.resize(A);
  scratch.new_support.resize(A);
  for (std::size_t a = 0; a < A; ++a) {
    const AreaBrain& ab = areas_[a].brains[b];
    scratch.old_support[a] = ab.support;
    scratch.new_support[a] = ab.support + static_cast<std::uint32_t>(ab.fresh_input.size());
  }
  materialise(b, scratch.old_support, scratch.new_support, true);
  upload_brain_edges(b);
  // 5: Hebbian on edges from the firing sets of this step to the new winners.
  for (std::size_t t = 0; t < A; ++t) {
    if (areas_[t].updated && learns(t)) learn_on_host(t, b);
  }
  // Synchronous update: only now do the new winners become the firing sets.
  for (std::size_t t = 0; t < A; ++t) {
    if (areas_[t].updated) record_firing(t, b, std::move(areas_[t].brains[b].next));
  }
}

void LazyBatch::project() {
  const std::size_t B = brains_.size();
  const std::size_t A = areas_.size();
  for (AreaState& area : areas_) {
    area.updated = false;
    for (AreaBrain& ab : area.brains) ab.fresh_input.clear();
  }
  for (std::size_t t = 0; t < A; ++t) {
    if (area_inhibited(t)) continue;
    for (const FiberState& fiber : fibers_) areas_[t].updated |= fiber.target == t && source_firing(fiber);
  }
  if (host_path()) {
    // A brain's whole step on the thread that owns it: its edges, inputs and flags are loaded
    // into that core's cache once per step instead of once per stage.
    for_each_brain(B, [&](std::size_t b) { step_on_host(b); });
    for (std::size_t t = 0; t < A; ++t) areas_[t].fired |= areas_[t].updated;
    ++steps_;
    return;
  }
  for (std::size_t a = 0; a < A; ++a) sync_fires(a);
  for (FiberState& fiber : fibers_) {  // these steps scale weights without the host path's sums
    for (FiberBrain& fb : fiber.brains) {
      fb.target_input_valid = false;
      unindex(fb);  // and read every weight from the list
    }
  }

  // 1-3: inputs of the materialised neurons, the best never-fired candidates, k-cap.
  for (std::size_t t = 0; t < A; ++t) {
    AreaState& area = areas_[t];
    if (!area.updated) continue;
    const AreaSpec& spec = spec_.areas[t];
    if (area_fixed(t) && area.fired) {
      for (AreaBrain& ab : area.brains) ab.next = ab.firing;
      continue;
    }
    for_each_brain(B, [&](std::size_t b) { plan(t, b, true); });
    std::size_t stride = spec.k;
    for (const AreaBrain& ab : area.brains) stride = std::max<std::size_t>(stride, ab.support + ab.potentials.size());
    // Row b: [0, support) materialised inputs (accumulated below), then the candidates (integer
    // edge counts of weight 1), then padding that can never win.
    std::vector<FixedInput> rows(B * stride, std::numeric_limits<FixedInput>::min());
    for (std::size_t b = 0; b < B; ++b) {
      const AreaBrain& ab = area.brains[b];
      FixedInput* row = rows.data() + b * stride;
      std::fill(row, row + ab.support, FixedInput{0});
      for (std::size_t i = 0; i < ab.potentials.size(); ++i) {
        row[ab.support + i] = ab.potentials[i] * (FixedInput{1} << 32);
      }
    }
    if (area.inputs.size() < rows.size()) area.inputs = Buffer<FixedInput>(backend_, rows.size());
    backend_.copy_from_host(area.inputs.data(), rows.data(), rows.size() * sizeof(FixedInput));
    for (std::size_t f = 0; f < fibers_.size(); ++f) {
      FiberState& fiber = fibers_[f];
      if (fiber.target != t || !source_firing(fiber)) continue;
      for (std::size_t b = 0; b < B; ++b) {
        FiberBrain& fb = fiber.brains[b];
        if (fb.count == 0) continue;
        launch(backend_, static_cast<std::int64_t>(fb.count),
               graph::SparseAccumulate{sparse(fb), fires_device(fiber, b), area.inputs.data() + b * stride});
      }
    }
    backend_.kcap(area.inputs.data(), static_cast<std::int64_t>(B), static_cast<NeuronId>(stride), spec.k,
                  area.winners.data());
    const std::vector<NeuronId> winners = area.winners.to_host();
    for (std::size_t b = 0; b < B; ++b) {
      AreaBrain& ab = area.brains[b];
      ab.next.assign(winners.begin() + static_cast<std::ptrdiff_t>(b * spec.k),
                     winners.begin() + static_cast<std::ptrdiff_t>((b + 1) * spec.k));
      take_fresh_inputs(t, b);
    }
  }

  // 4: materialise the new winners (in-edges conditioned on their inputs, out-edges fresh).
  std::vector<std::vector<std::uint32_t>> old_support(B, std::vector<std::uint32_t>(A));
  std::vector<std::vector<std::uint32_t>> new_support(B, std::vector<std::uint32_t>(A));
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t a = 0; a < A; ++a) {
      const AreaBrain& ab = areas_[a].brains[b];
      old_support[b][a] = ab.support;
      new_support[b][a] = ab.support + static_cast<std::uint32_t>(ab.fresh_input.size());
    }
  }
  for_each_brain(B, [&](std::size_t b) { materialise(b, old_support[b], new_support[b], true); });
  upload_new_edges();

  // 5: Hebbian on edges from the firing sets of this step to the new winners.
  for (std::size_t a = 0; a < A; ++a) sync_fires(a);
  for (std::size_t t = 0; t < A; ++t) {
    AreaState& area = areas_[t];
    if (!area.updated || !learns(t)) continue;
    for (AreaBrain& ab : area.brains) {
      std::vector<std::uint8_t> wins(ab.support, 0);
      for (const NeuronId id : ab.next) wins[id] = 1;
      upload_prefix(backend_, ab.wins_device, wins);
    }
    for (FiberState& fiber : fibers_) {
      if (fiber.target != t || !source_firing(fiber) || !plastic(fiber) || fiber.beta == 0.0) continue;
      const auto factor = static_cast<float>(1.0 + fiber.beta);
      for (std::size_t b = 0; b < B; ++b) {
        FiberBrain& fb = fiber.brains[b];
        if (fb.count == 0) continue;
        launch(backend_, static_cast<std::int64_t>(fb.count),
               plasticity::SparseHebbian{sparse(fb), fires_device(fiber, b), area.brains[b].wins_device.data(), factor});
      }
    }
  }

  // Synchronous update: only now do the new winners become the firing sets.
  for (std::size_t t = 0; t < A; ++t) {
    if (!areas_[t].updated) continue;
    for (std::size_t b = 0; b < B; ++b) record_firing(t, b, std::move(areas_[t].brains[b].next));
    areas_[t].fired = true;
  }
  ++steps_;
}

// Neurons [old_support[a], new_support[a]) of every area a are new. Phase 1 draws their in-edges
// from the sources' old supports; phase 2 their out-edges to the targets' new supports, so every
// ordered pair of neurons of a fiber is drawn exactly once, by the later of the two to appear.
void LazyBatch::materialise(std::size_t b, const std::vector<std::uint32_t>& old_support,
                            const std::vector<std::uint32_t>& new_support, bool in_step) {
  const std::uint32_t brain = brains_[b].index;
  BrainScratch& scratch = brain_scratch_[b];
  std::vector<std::uint64_t>& chosen = scratch.chosen;
  std::vector<std::int64_t>& shares = scratch.shares;
  std::vector<std::uint8_t>& taken = scratch.taken;
  for (std::size_t t = 0; t < areas_.size(); ++t) {
    if (new_support[t] == old_support[t]) continue;
    AreaBrain& ab = areas_[t].brains[b];
    for (NeuronId id = old_support[t]; id < new_support[t]; ++id) {
      if (in_step) {
        // The input x of the new winner came from x of the firing neurons of the active fibers:
        // split x over the fibers by its conditional law, then pick each fiber's share uniformly
        // among its firing neurons (together: the multivariate hypergeometric when p is shared).
        const std::int64_t x = ab.fresh_input[id - old_support[t]];
        RngStream rng(RngKey{ab.seed, brain, purpose::lazy_split, 0, id});
        ab.firing_split.draw(x, rng, shares);
        for (std::size_t i = 0; i < ab.active.size(); ++i) {
          const FiberState& fiber = fibers_[ab.active[i]];
          const std::uint32_t trials = firing_count(fiber, b);
          // Floyd's algorithm: `share` distinct positions of [0, trials), a pick already taken
          // replaced by j (never taken yet: earlier picks are below it).
          chosen.clear();
          if (taken.size() < trials) taken.resize(trials, 0);
          for (std::uint64_t j = trials - static_cast<std::uint64_t>(shares[i]); j < trials; ++j) {
            std::uint64_t pick = uniform_below(rng, j + 1);
            if (taken[pick]) pick = j;
            taken[pick] = 1;
            chosen.push_back(pick);
          }
          FiberBrain& fb = fibers_[ab.active[i]].brains[b];
          for (const std::uint64_t pick : chosen) {
            taken[pick] = 0;
            fb.new_source.push_back(firing_neuron(fiber, b, static_cast<std::uint32_t>(pick)));
            fb.new_target.push_back(id);
          }
        }
      }
      // Every other materialised source neuron connects with probability p.
      for (std::size_t f = 0; f < fibers_.size(); ++f) {
        const FiberState& fiber = fibers_[f];
        if (fiber.target != t) continue;
        const bool active = in_step && std::find(ab.active.begin(), ab.active.end(), f) != ab.active.end();
        if (active && fiber.from_stimulus) continue;  // every stimulus neuron fires: split above
        const std::int64_t range = fiber.from_stimulus ? spec_.stimuli[fiber.source].k : old_support[fiber.source];
        FiberBrain& fb = fibers_[f].brains[b];
        graph::cpu_bernoulli_skip(RngKey{ab.seed, brain, purpose::lazy_in_edges, static_cast<std::uint32_t>(f), id},
                                  range, fiber.p, [&](std::int64_t s) {
          const auto source = static_cast<NeuronId>(s);
          if (active && neuron_fires(fiber, b, source)) return;
          fb.new_source.push_back(source);
          fb.new_target.push_back(id);
        });
      }
    }
  }
  for (std::size_t a = 0; a < areas_.size(); ++a) {
    AreaBrain& ab = areas_[a].brains[b];
    ab.support = new_support[a];
    ab.fires.resize(ab.support, 0);
  }
  for (std::size_t f = 0; f < fibers_.size(); ++f) {
    const FiberState& fiber = fibers_[f];
    if (fiber.from_stimulus) continue;
    const std::size_t s = fiber.source;
    if (new_support[s] == old_support[s]) continue;
    const AreaBrain& source = areas_[s].brains[b];
    FiberBrain& fb = fibers_[f].brains[b];
    for (NeuronId id = old_support[s]; id < new_support[s]; ++id) {
      graph::cpu_bernoulli_skip(
          RngKey{source.seed, brain, purpose::lazy_out_edges, static_cast<std::uint32_t>(f), id},
          new_support[fiber.target], fiber.p, [&](std::int64_t t) {
            const auto target = static_cast<NeuronId>(t);
            if (fiber.exclude_self && target == id) return;
            fb.new_source.push_back(id);
            fb.new_target.push_back(target);
          });
    }
  }
}

void LazyBatch::unindex(FiberBrain& fb) {
  float* weight = fb.weight.data();
  for (std::size_t i = 0; i < fb.indexed; ++i) weight[fb.by_source.edge[i]] = fb.by_source.weight[i];
  fb.indexed = 0;
}

void LazyBatch::index_by_source(FiberBrain& fb) {
  constexpr std::size_t kScanWholeBelow = 4096;  // edges: a plain pass is as cheap as any index
  constexpr std::size_t kTailShare = 8;         // rebuild once the tail exceeds 1/8 of the index
  const std::size_t tail = fb.count - fb.indexed;
  if (fb.count < kScanWholeBelow || tail * kTailShare <= fb.indexed) return;
  if (fb.count > std::numeric_limits<std::uint32_t>::max()) throw Error::internal("lazy fiber outgrew 2^32 edges");
  // A stable counting sort by source of the whole list, done as a merge: each source's indexed
  // edges (already in list order, weights current) are copied as a block, then the tail's edges
  // (later in the list) follow in order. The same index as sorting the list from scratch.
  const FiberBrain::SourceIndex& old = fb.by_source;
  FiberBrain::SourceIndex& fresh = fb.rebuilt;
  const NeuronId* source = fb.source.data();
  const NeuronId* target = fb.target.data();
  const float* weight = fb.weight.data();
  const auto old_sources = static_cast<NeuronId>(fb.indexed > 0 ? old.offset.size() - 1 : 0);
  NeuronId sources = old_sources;
  for (std::size_t e = fb.indexed; e < fb.count; ++e) sources = std::max(sources, source[e] + 1);
  fresh.offset.assign(static_cast<std::size_t>(sources) + 1, 0);
  for (NeuronId s = 0; s < old_sources; ++s) fresh.offset[s + 1] = old.offset[s + 1] - old.offset[s];
  for (std::size_t e = fb.indexed; e < fb.count; ++e) ++fresh.offset[source[e] + 1];
  for (std::size_t s = 0; s < sources; ++s) fresh.offset[s + 1] += fresh.offset[s];
  fresh.edge.resize(fb.count);
  fresh.target.resize(fb.count);
  fresh.weight.resize(fb.count);
  std::vector<std::uint32_t>& next = fb.rebuild_cursor;
  next.assign(fresh.offset.begin(), fresh.offset.end() - 1);
  for (NeuronId s = 0; s < old_sources; ++s) {
    const std::uint32_t from = old.offset[s], length = old.offset[s + 1] - from, to = next[s];
    std::copy_n(old.edge.begin() + from, length, fresh.edge.begin() + to);
    std::copy_n(old.target.begin() + from, length, fresh.target.begin() + to);
    std::copy_n(old.weight.begin() + from, length, fresh.weight.begin() + to);
    next[s] += length;
  }
  for (std::size_t e = fb.indexed; e < fb.count; ++e) {
    const std::uint32_t slot = next[source[e]]++;
    fresh.edge[slot] = static_cast<std::uint32_t>(e);
    fresh.target[slot] = target[e];
    fresh.weight[slot] = weight[e];
  }
  std::swap(fb.by_source, fb.rebuilt);
  fb.indexed = fb.count;
}

template <class Visit>
void LazyBatch::for_firing_edges(FiberBrain& fb, const std::vector<NeuronId>& firing, const std::uint8_t* fires,
                                 Visit&& visit) {
  if (fb.indexed > 0) {
    const auto sources = static_cast<NeuronId>(fb.by_source.offset.size() - 1);
    for (const NeuronId s : firing) {
      if (s >= sources) continue;
      for (std::uint32_t i = fb.by_source.offset[s]; i < fb.by_source.offset[s + 1]; ++i) {
        visit(fb.by_source.weight[i], fb.by_source.target[i]);
      }
    }
  }
  const NeuronId* source = fb.source.data();
  const NeuronId* target = fb.target.data();
  float* weight = fb.weight.data();
  for (std::size_t e = fb.indexed; e < fb.count; ++e) {
    if (fires[source[e]]) visit(weight[e], target[e]);
  }
}

void LazyBatch::refresh_target_input(FiberBrain& fb) {
  if (fb.target_input_valid) return;
  const NeuronId* target = fb.target.data();
  const float* weight = fb.weight.data();
  NeuronId targets = 0;
  for (std::size_t e = 0; e < fb.count; ++e) targets = std::max(targets, target[e] + 1);
  fb.target_input.assign(targets, FixedInput{0});
  for (std::size_t e = 0; e < fb.count; ++e) fb.target_input[target[e]] += to_fixed_exact_float(weight[e]);
  fb.target_input_valid = true;
}

void LazyBatch::upload_brain_edges(std::size_t b) {
  for (FiberState& fiber : fibers_) {
    FiberBrain& fb = fiber.brains[b];
    if (fiber.from_stimulus && !fb.new_source.empty()) {
      // Keep the by-target grouping and, on the host path, the per-target sums.
      const bool sums = host_path() && fb.target_input_valid;
      if (!host_path()) fb.target_input_valid = false;
      if (fb.count + fb.new_target.size() > std::numeric_limits<std::uint32_t>::max()) fb.by_target = false;
      const FixedInput unit = to_fixed_exact_float(1.0f);
      for (std::size_t i = 0; i < fb.new_target.size(); ++i) {
        const NeuronId to = fb.new_target[i];
        if (sums) {
          if (fb.target_input.size() <= to) fb.target_input.resize(to + std::size_t{1}, FixedInput{0});
          fb.target_input[to] += unit;
        }
        if (!fb.by_target) continue;
        const std::size_t targets = fb.target_begin.size();
        if (to + std::size_t{1} < targets) {
          fb.by_target = false;
          fb.target_begin = {};
          continue;
        }
        while (fb.target_begin.size() <= to) fb.target_begin.push_back(static_cast<std::uint32_t>(fb.count + i));
      }
    }
    if (!fb.new_source.empty()) {
      const std::size_t added = fb.new_source.size();
      append(backend_, fb.source, fb.count, fb.new_source);
      append(backend_, fb.target, fb.count, fb.new_target);
      fb.weight.reserve_keep(fb.count + added);
      if (host_path()) {
        std::fill(fb.weight.data() + fb.count, fb.weight.data() + fb.count + added, 1.0f);
      } else {
        append(backend_, fb.weight, fb.count, std::vector<float>(added, 1.0f));
      }
      fb.count += added;
      fb.new_source.clear();
      fb.new_target.clear();
    }
    if (host_path() && !fiber.from_stimulus) index_by_source(fb);
  }
}

void LazyBatch::upload_new_edges() {
  if (host_path()) {  // host memory: each brain's lists on the thread that owns it
    for_each_brain(brains_.size(), [&](std::size_t b) { upload_brain_edges(b); });
    return;
  }
  for (std::size_t b = 0; b < brains_.size(); ++b) upload_brain_edges(b);
}

void LazyBatch::record_firing(std::size_t t, std::size_t b, std::vector<NeuronId> firing) {
  AreaBrain& ab = areas_[t].brains[b];
  if (areas_[t].fired) {
    std::uint32_t shared = 0;
    for (auto i = firing.begin(), j = ab.firing.begin(); i != firing.end() && j != ab.firing.end();) {
      if (*i < *j) ++i;
      else if (*j < *i) ++j;
      else { ++shared; ++i; ++j; }
    }
    ab.overlap = shared;
  }
  for (const NeuronId id : ab.firing) ab.fires[id] = 0;
  for (const NeuronId id : firing) ab.fires[id] = 1;
  ab.previous = std::move(ab.firing);
  ab.firing = std::move(firing);
}

// ---- queries ------------------------------------------------------------------------------------

std::vector<NeuronId> LazyBatch::winners(std::size_t brain, const std::string& name) const {
  const AreaState& area = areas_[area_at(name)];
  if (!area.fired) return {};
  return area.brains.at(brain).firing;
}

std::uint64_t LazyBatch::support(std::size_t brain, const std::string& name) const {
  return areas_[area_at(name)].brains.at(brain).support;
}

std::uint32_t LazyBatch::overlap(std::size_t brain, const std::string& name) const {
  return areas_[area_at(name)].brains.at(brain).overlap;
}

bool LazyBatch::updated(const std::string& name) const { return areas_[area_at(name)].updated; }

std::uint64_t LazyBatch::edge_count(std::size_t brain, std::size_t fiber) const {
  return fibers_.at(fiber).brains.at(brain).count;
}

std::vector<LazyBatch::Edge> LazyBatch::edges(std::size_t brain, std::size_t f) const {
  const FiberBrain& fb = fibers_.at(f).brains.at(brain);
  std::vector<NeuronId> source(fb.count), target(fb.count);
  std::vector<float> weight(fb.count);
  if (fb.count > 0) {
    backend_.copy_to_host(source.data(), fb.source.data(), fb.count * sizeof(NeuronId));
    backend_.copy_to_host(target.data(), fb.target.data(), fb.count * sizeof(NeuronId));
    backend_.copy_to_host(weight.data(), fb.weight.data(), fb.count * sizeof(float));
  }
  std::vector<Edge> out(fb.count);
  for (std::size_t e = 0; e < fb.count; ++e) out[e] = Edge{source[e], target[e], weight[e]};
  for (std::size_t i = 0; i < fb.indexed; ++i) out[fb.by_source.edge[i]].weight = fb.by_source.weight[i];
  return out;
}

double LazyBatch::edge_density(std::size_t brain, const std::string& from, const std::string& to,
                               const std::vector<NeuronId>& from_set, const std::vector<NeuronId>& to_set) const {
  const std::size_t f = fiber_index(from, to);
  if (from_set.empty() || to_set.empty()) return 0.0;
  std::uint64_t joined = 0;
  for (const Edge& e : edges(brain, f)) {
    joined += std::binary_search(from_set.begin(), from_set.end(), e.source) &&
              std::binary_search(to_set.begin(), to_set.end(), e.target);
  }
  return static_cast<double>(joined) / (static_cast<double>(from_set.size()) * static_cast<double>(to_set.size()));
}

std::size_t LazyBatch::memory_bytes() const {
  std::size_t bytes = 0;
  for (const AreaState& area : areas_) {
    bytes += area.inputs.bytes() + area.winners.bytes();
    for (const AreaBrain& ab : area.brains) bytes += ab.fires_device.bytes() + ab.wins_device.bytes();
  }
  for (const Buffer<std::uint8_t>& s : stimulus_fires_) bytes += s.bytes();
  for (const FiberState& fiber : fibers_) {
    for (const FiberBrain& fb : fiber.brains) bytes += fb.source.bytes() + fb.target.bytes() + fb.weight.bytes();
  }
  return bytes;
}

// ---- controls -----------------------------------------------------------------------------------

void LazyBatch::set_firing(const std::string& name, const std::vector<std::vector<NeuronId>>& per_brain) {
  const std::size_t t = area_at(name);
  const AreaSpec& spec = spec_.areas[t];
  const std::size_t B = brains_.size();
  check_firing_lists("firing", spec, per_brain, B, false);
  // Ids beyond the support name neurons that never fired: they are materialised now, in
  // increasing order, as the next support-local ids.
  std::vector<std::vector<NeuronId>> lists(B);
  std::vector<std::vector<std::uint32_t>> old_support(B, std::vector<std::uint32_t>(areas_.size()));
  std::vector<std::vector<std::uint32_t>> new_support = old_support;
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t a = 0; a < areas_.size(); ++a) old_support[b][a] = new_support[b][a] = areas_[a].brains[b].support;
    NeuronId next = old_support[b][t];
    for (const NeuronId id : per_brain[b]) lists[b].push_back(id < old_support[b][t] ? id : next++);
    new_support[b][t] = next;
  }
  for_each_brain(B, [&](std::size_t b) { materialise(b, old_support[b], new_support[b], false); });
  upload_new_edges();
  for (std::size_t b = 0; b < B; ++b) record_firing(t, b, std::move(lists[b]));
  areas_[t].fired = true;
}


}  // namespace engram::assembly
