#include "engram/models/assembly/exact_batch.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <omp.h>

#include "engram/engine/backend/launch.hpp"
#include "engram/engine/error.hpp"
#include "engram/kernels/core/fixed_point.hpp"
#include "engram/kernels/core/parallel_guard.hpp"
#include "engram/kernels/graph/input_noise.hpp"
#include "engram/kernels/plasticity/hebbian.hpp"
#include "engram/kernels/plasticity/normalise.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/assembly/firing_sets.hpp"
#include "engram/models/assembly/lazy_batch.hpp"
#include "engram/models/assembly/purposes.hpp"
#include "cpu_exact_step.hpp"

namespace engram::assembly {

namespace {
std::uint64_t shared_targets(const std::vector<NeuronId>& a, const std::vector<NeuronId>& b) {
  std::uint64_t shared = 0;
  for (auto i = a.begin(), j = b.begin(); i != a.end() && j != b.end();) {
    if (*i < *j) ++i;
    else if (*j < *i) ++j;
    else { ++shared; ++i; ++j; }
  }
  return shared;
}

std::uint64_t derive_graph_seed(const BrainId& id) {
  RngStream rng(RngKey{id.seed, id.index, purpose::graph_seed, 0, 0});
  return rng.next_u64();
}

// Overrides are empty or one per brain, each giving nothing or one value per fiber, in range.
void check_overrides(const std::vector<BrainOverrides>& overrides, std::size_t brains, std::size_t fibers) {
  if (!overrides.empty() && overrides.size() != brains) {
    throw Error::bad_input("overrides", std::to_string(overrides.size()),
                           "must be empty or one per brain (" + std::to_string(brains) + ")");
  }
  for (std::size_t b = 0; b < overrides.size(); ++b) {
    const BrainOverrides& o = overrides[b];
    for (const auto* values : {&o.fiber_p, &o.fiber_beta}) {
      if (!values->empty() && values->size() != fibers) {
        throw Error::bad_input("overrides[" + std::to_string(b) + "]", std::to_string(values->size()),
                               "must give one value per fiber (" + std::to_string(fibers) + ")");
      }
    }
    for (std::size_t f = 0; f < o.fiber_p.size(); ++f) {
      const double p = o.fiber_p[f];
      if (!(p > 0.0 && p <= 1.0)) {
        throw Error::bad_input("overrides[" + std::to_string(b) + "].fiber_p[" + std::to_string(f) + "]", to_text(p),
                               "must be in (0, 1]");
      }
    }
    for (std::size_t f = 0; f < o.fiber_beta.size(); ++f) {
      const double beta = o.fiber_beta[f];
      if (!(beta >= 0.0) || !std::isfinite(beta)) {
        throw Error::bad_input("overrides[" + std::to_string(b) + "].fiber_beta[" + std::to_string(f) + "]",
                               to_text(beta), "must be a finite number >= 0");
      }
    }
  }
}

}  // namespace

std::unique_ptr<BrainBatch> make_batch(Backend& backend, const BrainSpec& spec, std::vector<BrainId> brains) {
  if (spec.mode == GraphMode::lazy) return std::make_unique<LazyBatch>(backend, spec, std::move(brains));
  return std::make_unique<ExactBatch>(backend, spec, std::move(brains));
}

ExactBatch::ExactBatch(Backend& backend, BrainSpec spec, std::vector<BrainId> brains)
    : ExactBatch(backend, std::move(spec), std::move(brains), {}) {}

ExactBatch::ExactBatch(Backend& backend, BrainSpec spec, std::vector<BrainId> brains, std::vector<BrainOverrides> overrides)
    : ExactBatch(backend, std::move(spec), std::move(brains), std::move(overrides), nullptr) {}

ExactBatch::ExactBatch(Backend& backend, BrainSpec spec, std::vector<BrainId> brains, std::vector<BrainOverrides> overrides,
                       cpu::RowCache* shared_rows, cpu::PoolShelf* pools)
    : BatchControls(spec),
      backend_(backend),
      spec_(std::move(spec)),
      brains_(std::move(brains)),
      cpu_(std::make_unique<cpu::Workspace>()) {
  if (spec_.mode == GraphMode::lazy) {
    throw Error::bad_input("mode", "lazy", "assembly::ExactBatch runs the exact modes; use make_batch()");
  }
  if (brains_.empty()) throw Error::bad_input("brains", "0", "a batch needs at least one brain");
  check_overrides(overrides, brains_.size(), spec_.fibers.size());
  cpu_->shared_rows = shared_rows;
  if (backend_.kind() == BackendKind::cpu) cpu_->pools = pools;
  init_brain_keys();
  init_areas();
  init_stimuli();
  init_fibers(overrides);
  materialise_initial_rows();
}

void ExactBatch::init_brain_keys() {
  const std::size_t B = brains_.size();
  std::vector<std::uint64_t> seeds(B);
  std::transform(brains_.begin(), brains_.end(), seeds.begin(), derive_graph_seed);
  graph_seed_ = Buffer<std::uint64_t>(backend_, seeds);
  std::vector<std::uint64_t> run_seeds(B);
  std::vector<std::uint32_t> indices(B);
  for (std::size_t b = 0; b < B; ++b) {
    run_seeds[b] = brains_[b].seed;
    indices[b] = brains_[b].index;
  }
  run_seed_ = Buffer<std::uint64_t>(backend_, run_seeds);
  brain_index_ = Buffer<std::uint32_t>(backend_, indices);
}

void ExactBatch::init_areas() {
  const std::size_t B = brains_.size();
  for (const AreaSpec& a : spec_.areas) {
    AreaState s;
    s.winners = Buffer<NeuronId>(backend_, B * a.k);
    s.next_winners = Buffer<NeuronId>(backend_, B * a.k);
    s.inputs = Buffer<FixedInput>(backend_, B * a.n);
    s.is_winner = Buffer<std::uint8_t>(backend_, B * a.n);
    s.is_winner.zero();
    s.ever_fired.assign(B * a.n, 0);
    s.support.assign(B, 0);
    s.overlap.assign(B, 0);
    s.host_active.assign(B, a.k);
    if (a.normalise_incoming) {
      s.sums_before = Buffer<FixedInput>(backend_, B * a.n);
      s.sums_after = Buffer<FixedInput>(backend_, B * a.n);
    }
    // Only normalisation reads the device copy of ever_fired.
    s.fired_mask = Buffer<std::uint8_t>(backend_, any_normalisation() ? B * a.n : 0);
    s.fired_mask.zero();
    s.active = Buffer<std::uint32_t>(backend_, s.host_active);
    areas_.push_back(std::move(s));
  }
}

void ExactBatch::init_stimuli() {
  const std::size_t B = brains_.size();
  for (const StimulusSpec& st : spec_.stimuli) {
    std::vector<NeuronId> all(B * st.k);
    for (std::size_t b = 0; b < B; ++b) {
      std::iota(all.begin() + static_cast<std::ptrdiff_t>(b * st.k),
                all.begin() + static_cast<std::ptrdiff_t>((b + 1) * st.k), NeuronId{0});
    }
    stimulus_firing_.emplace_back(backend_, all);
  }
}

void ExactBatch::init_fibers(const std::vector<BrainOverrides>& overrides) {
  const std::size_t B = brains_.size();
  for (std::size_t f = 0; f < spec_.fibers.size(); ++f) {
    const FiberSpec& fs = spec_.fibers[f];
    FiberState fiber;
    const int stimulus = spec_.stimulus_index(fs.from);
    fiber.from_stimulus = stimulus >= 0;
    fiber.source = fiber.from_stimulus ? static_cast<std::size_t>(stimulus)
                                       : static_cast<std::size_t>(spec_.area_index(fs.from));
    fiber.target = static_cast<std::size_t>(spec_.area_index(fs.to));
    fiber.n_source = fiber.from_stimulus ? spec_.stimuli[fiber.source].k : spec_.areas[fiber.source].n;
    fiber.exclude_self = !fiber.from_stimulus && fiber.source == fiber.target &&
                         !spec_.areas[fiber.target].self_loops;
    fiber.host_p.assign(B, spec_.fiber_p(f));
    fiber.beta.assign(B, fs.beta);
    for (std::size_t b = 0; b < overrides.size(); ++b) {
      if (!overrides[b].fiber_p.empty()) fiber.host_p[b] = overrides[b].fiber_p[f];
      if (!overrides[b].fiber_beta.empty()) fiber.beta[b] = overrides[b].fiber_beta[f];
    }
    fiber.p = Buffer<double>(backend_, fiber.host_p);
    std::vector<float> factors(B);
    for (std::size_t b = 0; b < B; ++b) factors[b] = static_cast<float>(1.0 + fiber.beta[b]);
    fiber.factor = Buffer<float>(backend_, factors);
    cpu::PoolShelf::Pools reused = cpu_->pools != nullptr ? cpu_->pools->take(f) : cpu::PoolShelf::Pools{};
    const std::size_t slots = B * fiber.n_source;
    if (reused.row_start.size() == slots && reused.row_degree.size() == slots) {
      fiber.row_start = std::move(reused.row_start);  // host memory (pools are CPU-only)
      std::fill_n(fiber.row_start.data(), slots, kRowAbsent);
      fiber.row_degree = std::move(reused.row_degree);
    } else {
      fiber.row_start = Buffer<EdgeOffset>(backend_, std::vector<EdgeOffset>(slots, kRowAbsent));
      fiber.row_degree = Buffer<std::uint32_t>(backend_, slots);
    }
    fiber.row_degree.zero();
    fiber.targets = reused.targets.size() > 0 ? std::move(reused.targets) : Buffer<NeuronId>(backend_, 0);
    fiber.weights = reused.weights.size() > 0 ? std::move(reused.weights) : Buffer<float>(backend_, 0);
    fibers_.push_back(std::move(fiber));
  }
}

void ExactBatch::materialise_initial_rows() {
  // Stimulus rows always fire, so both modes build them now; explicit mode builds every row.
  const auto B = static_cast<std::uint32_t>(brains_.size());
  for (std::size_t f = 0; f < fibers_.size(); ++f) {
    if (!fibers_[f].from_stimulus && spec_.mode != GraphMode::explicit_graph) continue;
    std::vector<std::uint32_t> req_brain;
    std::vector<NeuronId> req_source;
    for (std::uint32_t b = 0; b < B; ++b) {
      for (NeuronId s = 0; s < fibers_[f].n_source; ++s) {
        req_brain.push_back(b);
        req_source.push_back(s);
      }
    }
    materialise(f, req_brain, req_source);
  }
}

ExactBatch::~ExactBatch() {
  if (cpu_ == nullptr || cpu_->pools == nullptr) return;
  try {
    for (std::size_t f = 0; f < fibers_.size(); ++f) {
      FiberState& fiber = fibers_[f];
      cpu_->pools->put(f, {std::move(fiber.row_start), std::move(fiber.row_degree), std::move(fiber.targets),
                           std::move(fiber.weights)});
    }
  } catch (...) {
    // Out of memory growing the shelf: the pools are simply freed with the batch.
  }
}

// Also when the batch holds fewer brains than threads: the spare threads idle rather than share
// a brain's input row through atomic adds, which cost more than they save (one brain of n = 10^5,
// k = 317: 5.2 ms per step on the atomic path with 2 threads, 1.9 ms owned by one thread).
bool ExactBatch::owns_brains() const { return !portable_kernels_ && backend_.kind() == BackendKind::cpu; }

// No more threads than brains: a spare thread would only wait at the region's end (and, on a
// loaded machine, be waited for).
int ExactBatch::owner_threads() const {
  return static_cast<int>(std::min<std::size_t>(brains_.size(), static_cast<std::size_t>(omp_get_max_threads())));
}

graph::RowTable ExactBatch::table(FiberState& fiber) {
  return graph::RowTable{fiber.row_start.data(), fiber.row_degree.data(), fiber.targets.data(),
                         fiber.weights.data(), fiber.n_source};
}

graph::FiringSet ExactBatch::firing(const FiberState& fiber) const {
  if (fiber.from_stimulus) {
    return {stimulus_firing_[fiber.source].data(), spec_.stimuli[fiber.source].k};
  }
  const AreaState& source = areas_[fiber.source];
  return {source.winners.data(), spec_.areas[fiber.source].k, source.ragged ? source.active.data() : nullptr};
}

void ExactBatch::materialise(std::size_t f, const std::vector<std::uint32_t>& brains,
                        const std::vector<NeuronId>& sources) {
  if (brains.empty()) return;
  FiberState& fiber = fibers_[f];
  const auto count = static_cast<std::int64_t>(brains.size());
  const graph::FiberGraph g{graph_seed_.data(), fiber.p.data(), static_cast<std::uint32_t>(f),
                            spec_.areas[fiber.target].n, fiber.exclude_self};
  if (backend_.kind() == BackendKind::cpu && !portable_kernels_) {
    // Host memory: the request lists are read in place and each row is generated once.
    const graph::RowRequests requests{brains.data(), sources.data(), count};
    const EdgeOffset total = cpu_->rows.generate(g, requests, cpu_->shared_rows);
    fiber.targets.reserve_keep(static_cast<std::size_t>(fiber.pool_size + total));
    fiber.weights.reserve_keep(static_cast<std::size_t>(fiber.pool_size + total));
    cpu_->rows.write(requests, fiber.pool_size, table(fiber), 1.0f);
    fiber.pool_size += total;
    return;
  }
  Buffer<std::uint32_t> req_brain(backend_, brains);
  Buffer<NeuronId> req_source(backend_, sources);
  Buffer<EdgeOffset> degree(backend_, brains.size());
  Buffer<EdgeOffset> offset(backend_, brains.size());
  const graph::RowRequests requests{req_brain.data(), req_source.data(), count};
  launch(backend_, count, graph::GnpRowDegree{g, requests, degree.data()});
  const EdgeOffset total = backend_.exclusive_scan(degree.data(), offset.data(), count);
  fiber.targets.reserve_keep(static_cast<std::size_t>(fiber.pool_size + total));
  fiber.weights.reserve_keep(static_cast<std::size_t>(fiber.pool_size + total));
  launch(backend_, count, graph::GnpRowFill{g, requests, offset.data(), fiber.pool_size, table(fiber), 1.0f});
  fiber.pool_size += total;
}

// Weights written through fiber_memory() views (Python's numpy arrays) are checked before the
// step that reads them: NaN would turn into input 0 and a weight past the fixed-point range
// would wrap the sum, both silently.
void ExactBatch::check_exposed_weights() const {
  for (std::size_t f = 0; f < fibers_.size(); ++f) {
    if (f >= weights_exposed_.size() || !weights_exposed_[f]) continue;
    const FiberState& fiber = fibers_[f];
    std::vector<float> weights(static_cast<std::size_t>(fiber.pool_size));
    if (weights.empty()) continue;
    backend_.copy_to_host(weights.data(), fiber.weights.data(), weights.size() * sizeof(float));
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (!(std::isfinite(weights[i]) && std::abs(weights[i]) <= kMaxWeight)) {
        const FiberSpec& spec = spec_.fibers[f];
        throw Error::bad_input("fiber " + spec.from + "->" + spec.to + " weights[" + std::to_string(i) + "]",
                               to_text(weights[i]),
                               "must be finite and at most " + to_text(kMaxWeight) + " in magnitude (the fixed-point input range)");
      }
    }
  }
}

void ExactBatch::project() {
  check_exposed_weights();
  for (std::size_t f = 0; f < weights_exposed_.size(); ++f) {
    if (weights_exposed_[f]) sums_stale(fibers_[f].target);  // a view may have written them
  }
  for (AreaState& a : areas_) a.updated = false;
  for (std::size_t t = 0; t < areas_.size(); ++t) {
    AreaState& area = areas_[t];
    if (area_inhibited(t)) continue;
    bool any = false;
    for (const FiberState& fiber : fibers_) any |= fiber.target == t && source_firing(fiber);
    if (!any) continue;
    area.updated = true;
    if (area.clamped) {
      area.clamped = false;  // next_winners were uploaded by clamp_next()
    } else if (area_fixed(t) && area.fired) {
      backend_.copy_within(area.next_winners.data(), area.winners.data(), area.winners.bytes());
    } else if (owns_brains() && !spec_.areas[t].normalise_incoming) {
      select_and_learn_owned(t);  // both stages per brain, while its rows are in cache
      continue;
    } else if (owns_brains()) {
      select_winners_owned(t);
    } else {
      select_winners(t);
    }
    learn(t);
  }
  // Synchronous update: every target read its sources' previous winners above; only now do the
  // new winners become the firing sets.
  for (std::size_t t = 0; t < areas_.size(); ++t) {
    if (areas_[t].updated) commit(t);
  }
  ++steps_;
}

void ExactBatch::select_winners(std::size_t t) {
  const std::size_t B = brains_.size();
  const AreaSpec& spec = spec_.areas[t];
  AreaState& area = areas_[t];
  area.inputs.zero();
  for (FiberState& fiber : fibers_) {
    if (fiber.target != t || !source_firing(fiber)) continue;
    const graph::FiringSet fs = firing(fiber);
    launch(backend_, static_cast<std::int64_t>(B) * fs.count_per_brain,
           graph::AccumulateInputs{table(fiber), fs, area.inputs.data(), spec.n});
  }
  if (spec.noise > 0.0) {
    launch(backend_, static_cast<std::int64_t>(B) * spec.n,
           graph::InputNoise{area.inputs.data(), run_seed_.data(), brain_index_.data(), spec.n,
                             static_cast<std::uint32_t>(steps_), static_cast<std::uint32_t>(t), spec.noise});
  }
  backend_.kcap(area.inputs.data(), static_cast<std::int64_t>(B), spec.n, spec.k, area.next_winners.data());
}

void ExactBatch::select_winners_owned(std::size_t t) { owned_stages(t, false); }

void ExactBatch::select_and_learn_owned(std::size_t t) { owned_stages(t, true); }

// One thread per brain: its inputs, k-cap and, with `and_learn`, its Hebbian update, back to back.
// A brain's stages touch only its own rows, inputs and flags, so the bits are those of the
// stage-by-stage order; running them together re-reads the firing sources' rows from cache
// instead of memory once a batch's rows outgrow it.
void ExactBatch::owned_stages(std::size_t t, bool and_learn) {
  const auto B = static_cast<std::int64_t>(brains_.size());
  const AreaSpec& spec = spec_.areas[t];
  AreaState& area = areas_[t];
  std::vector<std::pair<graph::RowTable, graph::FiringSet>> sources;
  for (FiberState& fiber : fibers_) {
    if (fiber.target == t && source_firing(fiber)) sources.emplace_back(table(fiber), firing(fiber));
  }
  std::vector<std::pair<graph::RowTable, graph::FiringSet>> learning;
  std::vector<std::size_t> learning_ids;
  if (and_learn) {
    for (FiberState& fiber : fibers_) {
      if (fiber.target != t || !learns(fiber)) continue;
      learning.emplace_back(table(fiber), firing(fiber));
      learning_ids.push_back(static_cast<std::size_t>(&fiber - fibers_.data()));
    }
  }
  const graph::InputNoise noise{area.inputs.data(), run_seed_.data(), brain_index_.data(), spec.n,
                                static_cast<std::uint32_t>(steps_), static_cast<std::uint32_t>(t), spec.noise};
  std::uint64_t firing_bound = 0;  // most firing sources any brain has: bounds a unit count
  for (const auto& source : sources) firing_bound += source.second.count_per_brain;
  const bool counted = firing_bound < 0xFFFFu;
  // With the Hebbian update done here, every weight change of the fibers into this area passes
  // through this loop, so each fiber's share of the inputs can be kept from step to step
  // (cpu::keep_input); otherwise learn() changes the weights elsewhere and inputs are summed afresh.
  const bool keep = and_learn;
  std::vector<FiberState*> into;  // every fiber into the area, firing or not
  std::vector<graph::FiringSet> into_firing;
  if (keep) {
    for (FiberState& fiber : fibers_) {
      if (fiber.target != t) continue;
      into.push_back(&fiber);
      into_firing.push_back(source_firing(fiber) ? firing(fiber) : graph::FiringSet{});
      fiber.kept_sums.resize(static_cast<std::size_t>(B) * spec.n);
      fiber.kept_firing.resize(static_cast<std::size_t>(B));
      fiber.kept_held.resize(static_cast<std::size_t>(B), 0);
      if (!area.kept_valid) std::fill(fiber.kept_held.begin(), fiber.kept_held.end(), 0);
    }
    area.kept_valid = true;
  }
  // Brains differ in cost (sweeps pack brains of different p): hand them out one at a time.
  ParallelGuard guard;  // the k-cap's per-thread heap allocates: failures come back here
  const int threads = owner_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
  for (std::int64_t b = 0; b < B; ++b) guard.run([&] {
    const auto brain = static_cast<std::size_t>(b);
    FixedInput* inputs = area.inputs.data() + b * static_cast<FlatIndex>(spec.n);
    std::fill_n(inputs, spec.n, FixedInput{0});
    std::uint16_t* counts = counted ? cpu::thread_unit_counts(spec.n) : nullptr;
    const auto sum_afresh = [&](const graph::RowTable& rows, const graph::FiringSet& fs) {
      if (counted) cpu::accumulate_counted(rows, brain, cpu::brain_firing(fs, brain), inputs, counts);
      else cpu::accumulate(rows, brain, cpu::brain_firing(fs, brain), inputs);
    };
    if (keep) {
      // Kept shares first: one being rebuilt sums its rows with the unit counts, which must be
      // clear of the rows summed afresh into the inputs below.
      for (std::size_t i = 0; i < into.size(); ++i) {
        FiberState& fiber = *into[i];
        const cpu::BrainFiring now =
            into_firing[i].neurons != nullptr ? cpu::brain_firing(into_firing[i], brain) : cpu::BrainFiring{nullptr, 0};
        bool held = fiber.kept_held[brain] != 0;
        const bool kept = cpu::keep_input(table(fiber), brain, now, spec.n, fiber.kept_firing[brain], held,
                                          fiber.kept_sums.data() + b * static_cast<FlatIndex>(spec.n), counts);
        fiber.kept_held[brain] = kept ? 1 : 0;  // a kept share is held; one let go is not
      }
      for (std::size_t i = 0; i < into.size(); ++i) {
        if (into[i]->kept_held[brain] == 0 && into_firing[i].neurons != nullptr) sum_afresh(table(*into[i]), into_firing[i]);
      }
      if (counted) cpu::fold_unit_counts(counts, spec.n, inputs);
      for (FiberState* fiber : into) {
        if (fiber->kept_held[brain] == 0) continue;
        const FixedInput* sums = fiber->kept_sums.data() + b * static_cast<FlatIndex>(spec.n);
        for (NeuronId j = 0; j < spec.n; ++j) inputs[j] += sums[j];
      }
    } else {
      for (const auto& [rows, fs] : sources) sum_afresh(rows, fs);
      if (counted) cpu::fold_unit_counts(counts, spec.n, inputs);
    }
    if (spec.noise > 0.0) {
      for (NeuronId i = 0; i < spec.n; ++i) noise(b * static_cast<FlatIndex>(spec.n) + i);
    }
    select::cpu_kcap(inputs, spec.n, spec.k, area.next_winners.data() + b * spec.k, select::thread_heap());
    if (!learning.empty()) learn_brain(t, brain, learning, learning_ids, keep);
  });
  guard.rethrow();
}

// Hebbian for one brain on the host: mark its winners in the thread's bitmap, scale the rows of its
// firing sources, unmark.
void ExactBatch::learn_brain(std::size_t t, std::size_t b,
                             const std::vector<std::pair<graph::RowTable, graph::FiringSet>>& sources,
                             const std::vector<std::size_t>& fiber_ids, bool follow_kept) {
  const AreaSpec& spec = spec_.areas[t];
  const AreaState& area = areas_[t];
  std::uint32_t* winner_bits = cpu::thread_winner_bits(spec.n);
  const NeuronId* winners = area.next_winners.data() + b * spec.k;
  for (std::uint32_t i = 0; i < spec.k; ++i) winner_bits[winners[i] >> 5] |= 1u << (winners[i] & 31);
  for (std::size_t i = 0; i < sources.size(); ++i) {
    FiberState& fiber = fibers_[fiber_ids[i]];
    FixedInput* kept = follow_kept && fiber.kept_held[b] != 0 ? fiber.kept_sums.data() + b * spec.n : nullptr;
    cpu::hebbian(sources[i].first, b, cpu::brain_firing(sources[i].second, b), winner_bits,
                 static_cast<float>(1.0 + fiber.beta[b]), static_cast<float>(spec_.fibers[fiber_ids[i]].max_weight), kept);
  }
  for (std::uint32_t i = 0; i < spec.k; ++i) winner_bits[winners[i] >> 5] = 0;
}

bool ExactBatch::learns(const FiberState& fiber) const {
  const auto f = static_cast<std::size_t>(&fiber - fibers_.data());
  return source_firing(fiber) && fiber_plastic(f) &&
         !std::all_of(fiber.beta.begin(), fiber.beta.end(), [](double b) { return b == 0.0; });
}

void ExactBatch::learn(std::size_t t) {
  sums_stale(t);
  const std::size_t B = brains_.size();
  const AreaSpec& spec = spec_.areas[t];
  AreaState& area = areas_[t];
  if (owns_brains() && !spec.normalise_incoming) {
    // One thread per brain: mark its winners, scale the rows of its firing sources, unmark.
    std::vector<std::pair<graph::RowTable, graph::FiringSet>> sources;
    std::vector<std::size_t> fiber_ids;
    for (FiberState& fiber : fibers_) {
      if (fiber.target != t || !learns(fiber)) continue;
      sources.emplace_back(table(fiber), firing(fiber));
      fiber_ids.push_back(static_cast<std::size_t>(&fiber - fibers_.data()));
    }
    if (sources.empty()) return;
    const int threads = owner_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
    for (std::int64_t b = 0; b < static_cast<std::int64_t>(B); ++b) {
      learn_brain(t, static_cast<std::size_t>(b), sources, fiber_ids);
    }
    return;
  }
  const auto winner_items = static_cast<std::int64_t>(B) * spec.k;
  // Padding entries of a ragged firing set repeat real neurons, so marking them is harmless.
  launch(backend_, winner_items,
         plasticity::MarkWinners{area.next_winners.data(), spec.k, area.is_winner.data(), spec.n, 1});
  if (spec.normalise_incoming) incoming_sums(t, area.sums_before);
  for (FiberState& fiber : fibers_) {
    if (fiber.target != t || !learns(fiber)) continue;
    const graph::FiringSet fs = firing(fiber);
    launch(backend_, static_cast<std::int64_t>(B) * fs.count_per_brain,
           plasticity::HebbianScale{table(fiber), fs, area.is_winner.data(), fiber.factor.data(), spec.n,
                                    static_cast<float>(spec_.fibers[static_cast<std::size_t>(&fiber - fibers_.data())].max_weight)});
  }
  if (spec.normalise_incoming) {
    incoming_sums(t, area.sums_after);
    for (FiberState& fiber : fibers_) {
      if (fiber.target != t) continue;
      launch(backend_, static_cast<std::int64_t>(B) * fiber.n_source,
             plasticity::RescaleIncoming{table(fiber), fiber.from_stimulus ? nullptr : areas_[fiber.source].fired_mask.data(),
                                         area.is_winner.data(), area.sums_before.data(), area.sums_after.data(), spec.n});
    }
  }
  launch(backend_, winner_items,
         plasticity::MarkWinners{area.next_winners.data(), spec.k, area.is_winner.data(), spec.n, 0});
}

void ExactBatch::commit(std::size_t t) {
  AreaState& area = areas_[t];
  area.winners.swap(area.next_winners);
  if (!area_fixed(t)) {
    // A k-cap always yields k winners per brain.
    if (area.ragged) {
      std::fill(area.host_active.begin(), area.host_active.end(), spec_.areas[t].k);
      area.active.upload(area.host_active);
      area.ragged = false;
    }
  }
  record_firing(t);
}

void ExactBatch::record_firing(std::size_t t) {
  const std::size_t B = brains_.size();
  const AreaSpec& spec = spec_.areas[t];
  AreaState& area = areas_[t];
  area.host_previous.swap(area.host_winners);
  area.host_previous_active = area.host_active;
  area.host_winners = area.winners.to_host();
  std::vector<std::uint32_t> new_brain;
  std::vector<NeuronId> new_source;
  for (std::size_t b = 0; b < B; ++b) {
    const auto begin = area.host_winners.begin() + static_cast<std::ptrdiff_t>(b * spec.k);
    const auto end = begin + area.host_active[b];
    if (area.fired) {
      const auto prev = area.host_previous.begin() + static_cast<std::ptrdiff_t>(b * spec.k);
      const auto prev_end = prev + area.host_previous_active[b];
      std::uint32_t shared = 0;
      for (auto i = begin, j = prev; i != end && j != prev_end;) {
        if (*i < *j) ++i;
        else if (*j < *i) ++j;
        else { ++shared; ++i; ++j; }
      }
      area.overlap[b] = shared;
    }
    std::uint8_t* fired = area.ever_fired.data() + b * spec.n;
    for (auto i = begin; i != end; ++i) {
      if (!fired[*i]) {
        fired[*i] = 1;
        ++area.support[b];
        new_brain.push_back(static_cast<std::uint32_t>(b));
        new_source.push_back(*i);
      }
    }
  }
  area.fired = true;
  if (any_normalisation() && !new_brain.empty()) area.fired_mask.upload(area.ever_fired);
  if (spec_.mode == GraphMode::implicit_graph) {
    for (std::size_t f = 0; f < fibers_.size(); ++f) {
      if (!fibers_[f].from_stimulus && fibers_[f].source == t) materialise(f, new_brain, new_source);
    }
  }
}

std::vector<NeuronId> ExactBatch::winners(std::size_t brain, const std::string& name) const {
  const AreaState& area = areas_[area_at(name)];
  if (!area.fired) return {};
  const std::uint32_t k = spec_.areas[area_at(name)].k;
  const auto begin = area.host_winners.begin() + static_cast<std::ptrdiff_t>(brain * k);
  return {begin, begin + area.host_active.at(brain)};
}

std::vector<NeuronId> ExactBatch::firing(std::size_t brain, const std::string& name) const {
  return winners(brain, name);
}

std::uint64_t ExactBatch::support(std::size_t brain, const std::string& name) const {
  return areas_[area_at(name)].support.at(brain);
}

std::uint32_t ExactBatch::overlap(std::size_t brain, const std::string& name) const {
  return areas_[area_at(name)].overlap.at(brain);
}

bool ExactBatch::updated(const std::string& name) const { return areas_[area_at(name)].updated; }

ExactBatch::Row ExactBatch::row(std::size_t brain, std::size_t f, NeuronId source) const {
  const FiberState& fiber = fibers_.at(f);
  const std::size_t slot = brain * fiber.n_source + source;
  EdgeOffset start = 0;
  std::uint32_t degree = 0;
  backend_.copy_to_host(&start, fiber.row_start.data() + slot, sizeof start);
  backend_.copy_to_host(&degree, fiber.row_degree.data() + slot, sizeof degree);
  Row row;
  if (start == kRowAbsent) return row;
  row.targets.resize(degree);
  row.weights.resize(degree);
  backend_.copy_to_host(row.targets.data(), fiber.targets.data() + start, degree * sizeof(NeuronId));
  backend_.copy_to_host(row.weights.data(), fiber.weights.data() + start, degree * sizeof(float));
  return row;
}

ExactBatch::FiberMemory ExactBatch::fiber_memory(std::size_t f) {
  FiberState& fiber = fibers_.at(f);
  weights_exposed_.resize(fibers_.size(), 0);
  weights_exposed_[f] = 1;
  sums_stale(fiber.target);
  return FiberMemory{fiber.row_start.data(), fiber.row_degree.data(), fiber.targets.data(), fiber.weights.data(),
                     fiber.n_source, static_cast<std::size_t>(fiber.pool_size),
                     spec_.mode == GraphMode::explicit_graph};
}

const FixedInput* ExactBatch::input_memory(const std::string& name) const { return areas_[area_at(name)].inputs.data(); }

void ExactBatch::normalise_fiber(std::size_t f, double total) {
  FiberState& fiber = fibers_.at(f);
  if (spec_.mode != GraphMode::explicit_graph) {
    throw Error::bad_input("mode", to_string(spec_.mode),
                           "per-fiber normalisation needs explicit mode (implicit mode does not store the edges of never-fired neurons)");
  }
  if (!(total > 0.0) || !(total <= kMaxWeight)) {
    throw Error::bad_input("normalise total", to_text(total), "must be in (0, " + to_text(kMaxWeight) + "]");
  }
  const std::size_t B = brains_.size();
  const NeuronId n = spec_.areas[fiber.target].n;
  const std::size_t cells = B * n;
  // Every target counts as a "winner" and every stored row as a source: the update's own
  // sum-and-rescale kernels then normalise the whole fiber, with fixed-point (order-free) sums.
  Buffer<std::uint8_t> every_target(backend_, std::vector<std::uint8_t>(cells, 1));
  Buffer<FixedInput> wanted(backend_, std::vector<FixedInput>(cells, to_fixed(total)));
  Buffer<FixedInput> sums(backend_, cells);
  sums.zero();
  sums_stale(fiber.target);
  const auto slots = static_cast<std::int64_t>(B) * fiber.n_source;
  launch(backend_, slots, plasticity::IncomingSums{table(fiber), nullptr, every_target.data(), sums.data(), n});
  launch(backend_, slots,
         plasticity::RescaleIncoming{table(fiber), nullptr, every_target.data(), wanted.data(), sums.data(), n});
}

void ExactBatch::set_row_weights(std::size_t brain, std::size_t f, NeuronId source, const std::vector<float>& weights) {
  FiberState& fiber = fibers_.at(f);
  const FiberSpec& spec = spec_.fibers[f];
  const NeuronId n = spec_.areas[fiber.target].n;
  if (brain >= brains_.size() || source >= fiber.n_source) {
    throw Error::bad_input("fiber " + spec.from + "->" + spec.to + " row", to_text(brain) + ", " + to_text(source),
                           "no such brain or source neuron");
  }
  if (weights.size() != n) {
    throw Error::bad_input("fiber " + spec.from + "->" + spec.to + " weights", to_text(weights.size()) + " values",
                           "needs one per target neuron (" + to_text(n) + ")");
  }
  for (std::size_t t = 0; t < weights.size(); ++t) {
    if (!(std::isfinite(weights[t]) && std::abs(weights[t]) <= kMaxWeight)) {
      throw Error::bad_input("fiber " + spec.from + "->" + spec.to + " weights[" + to_text(t) + "]", to_text(weights[t]),
                             "must be finite and at most " + to_text(kMaxWeight) + " in magnitude (the fixed-point input range)");
    }
  }
  Row row = this->row(brain, f, source);
  if (row.targets.empty()) {
    throw Error::bad_input("fiber " + spec.from + "->" + spec.to + " row", to_text(brain) + ", " + to_text(source),
                           "was never generated (its source has not fired, implicit mode)");
  }
  for (std::size_t i = 0; i < row.targets.size(); ++i) row.weights[i] = weights[row.targets[i]];
  EdgeOffset start = 0;
  backend_.copy_to_host(&start, fiber.row_start.data() + brain * fiber.n_source + source, sizeof start);
  backend_.copy_from_host(fiber.weights.data() + start, row.weights.data(), row.weights.size() * sizeof(float));
  sums_stale(fiber.target);
}

void ExactBatch::set_beta(std::size_t brain, std::size_t f, double beta) {
  if (!(beta >= 0.0) || !std::isfinite(beta)) {
    throw Error::bad_input("beta", to_text(beta), "must be a finite number >= 0");
  }
  FiberState& fiber = fibers_.at(f);
  fiber.beta.at(brain) = beta;
  const auto factor = static_cast<float>(1.0 + beta);
  backend_.copy_from_host(fiber.factor.data() + brain, &factor, sizeof factor);
}

}  // namespace engram::assembly

namespace engram::assembly {

void ExactBatch::set_firing(const std::string& name, const std::vector<std::vector<NeuronId>>& per_brain) {
  const std::size_t t = area_at(name);
  const AreaSpec& spec = spec_.areas[t];
  AreaState& area = areas_[t];
  check_firing_lists("firing", spec, per_brain, brains_.size(), false);
  std::vector<NeuronId> padded(brains_.size() * spec.k);
  std::vector<std::uint32_t> counts(brains_.size());
  for (std::size_t b = 0; b < brains_.size(); ++b) {
    const auto& list = per_brain[b];
    std::copy(list.begin(), list.end(), padded.begin() + static_cast<std::ptrdiff_t>(b * spec.k));
    // Padding repeats the last neuron: never read as firing, but a valid index for any kernel.
    std::fill(padded.begin() + static_cast<std::ptrdiff_t>(b * spec.k + list.size()),
              padded.begin() + static_cast<std::ptrdiff_t>((b + 1) * spec.k), list.back());
    counts[b] = static_cast<std::uint32_t>(list.size());
  }
  area.winners.upload(padded);
  area.host_active = counts;
  area.active.upload(counts);
  area.ragged = std::any_of(counts.begin(), counts.end(), [&](std::uint32_t c) { return c != spec.k; });
  record_firing(t);
}


}  // namespace engram::assembly

namespace engram::assembly {

double BrainBatch::edge_density(std::size_t, const std::string& from, const std::string& to,
                                const std::vector<NeuronId>&, const std::vector<NeuronId>&) const {
  throw Error::unavailable("edge density of " + from + " -> " + to + " is not available in mode " +
                           to_string(spec().mode));
}

double ExactBatch::edge_density(std::size_t brain, const std::string& from, const std::string& to,
                           const std::vector<NeuronId>& from_set, const std::vector<NeuronId>& to_set) const {
  const std::size_t f = fiber_index(from, to);
  if (from_set.empty() || to_set.empty()) return 0.0;
  std::uint64_t edges = 0;
  for (NeuronId s : from_set) {
    const Row r = row(brain, f, s);
    if (r.targets.empty() && spec_.mode == GraphMode::implicit_graph) {
      // An unmaterialised row: generate it here without storing it.
      const FiberState& fiber = fibers_[f];
      graph::GnpRow gen(derive_graph_seed(brains_[brain]), static_cast<std::uint32_t>(f), s, spec_.areas[fiber.target].n, fiber.host_p[brain],
                        fiber.exclude_self ? s : graph::kNoExclusion);
      std::vector<NeuronId> targets;
      for (NeuronId t; gen.next(t);) targets.push_back(t);
      edges += shared_targets(targets, to_set);
    } else {
      edges += shared_targets(r.targets, to_set);
    }
  }
  return static_cast<double>(edges) / (static_cast<double>(from_set.size()) * static_cast<double>(to_set.size()));
}

}  // namespace engram::assembly

namespace engram::assembly {

void BrainBatch::clamp_next(const std::string& area, const std::vector<std::vector<NeuronId>>&) {
  throw Error::unavailable("clamp_next(" + area + ") is not available in mode " + to_string(spec().mode));
}

void ExactBatch::clamp_next(const std::string& name, const std::vector<std::vector<NeuronId>>& per_brain) {
  const std::size_t t = area_at(name);
  const AreaSpec& spec = spec_.areas[t];
  check_firing_lists("clamp", spec, per_brain, brains_.size(), true);
  std::vector<NeuronId> flat;
  flat.reserve(brains_.size() * spec.k);
  for (const auto& list : per_brain) flat.insert(flat.end(), list.begin(), list.end());
  areas_[t].next_winners.upload(flat);
  areas_[t].clamped = true;
}

}  // namespace engram::assembly

namespace engram::assembly {

bool ExactBatch::any_normalisation() const {
  return std::any_of(spec_.areas.begin(), spec_.areas.end(), [](const AreaSpec& a) { return a.normalise_incoming; });
}

void ExactBatch::incoming_sums(std::size_t t, Buffer<FixedInput>& sums) {
  const std::size_t B = brains_.size();
  sums.zero();
  for (FiberState& fiber : fibers_) {
    if (fiber.target != t) continue;
    launch(backend_, static_cast<std::int64_t>(B) * fiber.n_source,
           plasticity::IncomingSums{table(fiber), fiber.from_stimulus ? nullptr : areas_[fiber.source].fired_mask.data(),
                                    areas_[t].is_winner.data(), sums.data(), spec_.areas[t].n});
  }
}

}  // namespace engram::assembly
