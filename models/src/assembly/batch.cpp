#include "engram/models/assembly/batch.hpp"

#include <algorithm>
#include <numeric>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"

namespace engram::assembly {

namespace {
std::uint64_t derive_graph_seed(const BrainId& id) {
  RngStream rng(RngKey{id.seed, id.index, Purpose::graph_seed, 0, 0});
  return rng.next_u64();
}
}  // namespace

Batch::Batch(Backend& backend, BrainSpec spec, std::vector<BrainId> brains)
    : backend_(backend), spec_(std::move(spec)), brains_(std::move(brains)) {
  spec_.validate();
  if (brains_.empty()) throw Error::bad_input("brains", "0", "a batch needs at least one brain");
  const std::size_t B = brains_.size();

  std::vector<std::uint64_t> seeds(B);
  std::transform(brains_.begin(), brains_.end(), seeds.begin(), derive_graph_seed);
  graph_seed_ = Buffer<std::uint64_t>(backend_, seeds);

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
    areas_.push_back(std::move(s));
  }
  for (const StimulusSpec& st : spec_.stimuli) {
    std::vector<NeuronId> all(B * st.k);
    for (std::size_t b = 0; b < B; ++b) {
      std::iota(all.begin() + static_cast<std::ptrdiff_t>(b * st.k),
                all.begin() + static_cast<std::ptrdiff_t>((b + 1) * st.k), NeuronId{0});
    }
    stimulus_firing_.emplace_back(backend_, all);
  }
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
    fiber.p = Buffer<double>(backend_, std::vector<double>(B, spec_.fiber_p(f)));
    fiber.beta.assign(B, fs.beta);
    fiber.factor = Buffer<float>(backend_, std::vector<float>(B, static_cast<float>(1.0 + fs.beta)));
    fiber.row_start = Buffer<EdgeOffset>(backend_, std::vector<EdgeOffset>(B * fiber.n_source, kRowAbsent));
    fiber.row_degree = Buffer<std::uint32_t>(backend_, B * fiber.n_source);
    fiber.row_degree.zero();
    fiber.targets = Buffer<NeuronId>(backend_, 0);
    fiber.weights = Buffer<float>(backend_, 0);
    fibers_.push_back(std::move(fiber));
  }
  // Stimulus rows always fire, so both modes build them now; explicit mode builds every row.
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

std::size_t Batch::area_at(const std::string& name) const {
  const int index = spec_.area_index(name);
  if (index < 0) throw Error::bad_input("area", name, "names no area of this brain");
  return static_cast<std::size_t>(index);
}

graph::RowTable Batch::table(FiberState& fiber) {
  return graph::RowTable{fiber.row_start.data(), fiber.row_degree.data(), fiber.targets.data(),
                         fiber.weights.data(), fiber.n_source};
}

graph::FiringSet Batch::firing(const FiberState& fiber) const {
  if (fiber.from_stimulus) {
    return {stimulus_firing_[fiber.source].data(), spec_.stimuli[fiber.source].k};
  }
  return {areas_[fiber.source].winners.data(), spec_.areas[fiber.source].k};
}

bool Batch::source_firing(const FiberState& fiber) const {
  return fiber.from_stimulus || areas_[fiber.source].fired;
}

void Batch::materialise(std::size_t f, const std::vector<std::uint32_t>& brains,
                        const std::vector<NeuronId>& sources) {
  if (brains.empty()) return;
  FiberState& fiber = fibers_[f];
  const auto count = static_cast<std::int64_t>(brains.size());
  Buffer<std::uint32_t> req_brain(backend_, brains);
  Buffer<NeuronId> req_source(backend_, sources);
  Buffer<EdgeOffset> degree(backend_, brains.size());
  Buffer<EdgeOffset> offset(backend_, brains.size());
  const graph::FiberGraph g{graph_seed_.data(), fiber.p.data(), static_cast<std::uint32_t>(f),
                            spec_.areas[fiber.target].n, fiber.exclude_self};
  const graph::RowRequests requests{req_brain.data(), req_source.data(), count};
  backend_.gnp_row_degree(graph::GnpRowDegree{g, requests, degree.data()});
  const EdgeOffset total = backend_.exclusive_scan(degree.data(), offset.data(), count);
  fiber.targets.reserve_keep(static_cast<std::size_t>(fiber.pool_size + total));
  fiber.weights.reserve_keep(static_cast<std::size_t>(fiber.pool_size + total));
  backend_.gnp_row_fill(graph::GnpRowFill{g, requests, offset.data(), fiber.pool_size, table(fiber), 1.0f});
  fiber.pool_size += total;
}

void Batch::project() {
  const std::size_t B = brains_.size();
  for (AreaState& a : areas_) a.updated = false;
  for (std::size_t t = 0; t < areas_.size(); ++t) {
    const AreaSpec& spec = spec_.areas[t];
    AreaState& area = areas_[t];
    bool any = false;
    for (const FiberState& fiber : fibers_) any |= fiber.target == t && source_firing(fiber);
    if (!any) continue;
    area.updated = true;
    area.inputs.zero();
    for (FiberState& fiber : fibers_) {
      if (fiber.target != t || !source_firing(fiber)) continue;
      const graph::FiringSet fs = firing(fiber);
      backend_.accumulate_inputs(graph::AccumulateInputs{table(fiber), fs, area.inputs.data(), spec.n},
                                 static_cast<std::int64_t>(B) * fs.count_per_brain);
    }
    backend_.kcap(area.inputs.data(), static_cast<std::int64_t>(B), spec.n, spec.k,
                  area.next_winners.data());
    const auto winner_items = static_cast<std::int64_t>(B) * spec.k;
    backend_.mark_winners(plasticity::MarkWinners{area.next_winners.data(), spec.k, area.is_winner.data(), spec.n, 1},
                          winner_items);
    for (FiberState& fiber : fibers_) {
      if (fiber.target != t || !source_firing(fiber)) continue;
      if (std::all_of(fiber.beta.begin(), fiber.beta.end(), [](double b) { return b == 0.0; })) continue;
      const graph::FiringSet fs = firing(fiber);
      backend_.hebbian_scale(
          plasticity::HebbianScale{table(fiber), fs, area.is_winner.data(), fiber.factor.data(), spec.n},
          static_cast<std::int64_t>(B) * fs.count_per_brain);
    }
    backend_.mark_winners(plasticity::MarkWinners{area.next_winners.data(), spec.k, area.is_winner.data(), spec.n, 0},
                          winner_items);
  }
  // Synchronous update: every target read its sources' previous winners above; only now do the
  // new winners become the firing sets.
  for (std::size_t t = 0; t < areas_.size(); ++t) {
    if (areas_[t].updated) commit(t);
  }
  ++steps_;
}

void Batch::commit(std::size_t t) {
  const std::size_t B = brains_.size();
  const AreaSpec& spec = spec_.areas[t];
  AreaState& area = areas_[t];
  area.winners.swap(area.next_winners);
  area.host_previous.swap(area.host_winners);
  area.host_winners = area.winners.to_host();
  std::vector<std::uint32_t> new_brain;
  std::vector<NeuronId> new_source;
  for (std::size_t b = 0; b < B; ++b) {
    const auto begin = area.host_winners.begin() + static_cast<std::ptrdiff_t>(b * spec.k);
    const auto end = begin + spec.k;
    if (area.fired) {
      const auto prev = area.host_previous.begin() + static_cast<std::ptrdiff_t>(b * spec.k);
      std::uint32_t shared = 0;
      for (auto i = begin, j = prev; i != end && j != prev + spec.k;) {
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
  if (spec_.mode == GraphMode::implicit_graph) {
    for (std::size_t f = 0; f < fibers_.size(); ++f) {
      if (!fibers_[f].from_stimulus && fibers_[f].source == t) materialise(f, new_brain, new_source);
    }
  }
}

std::vector<NeuronId> Batch::winners(std::size_t brain, const std::string& name) const {
  const AreaState& area = areas_[area_at(name)];
  if (!area.fired) return {};
  const std::uint32_t k = spec_.areas[area_at(name)].k;
  const auto begin = area.host_winners.begin() + static_cast<std::ptrdiff_t>(brain * k);
  return {begin, begin + k};
}

std::uint64_t Batch::support(std::size_t brain, const std::string& name) const {
  return areas_[area_at(name)].support.at(brain);
}

std::uint32_t Batch::overlap(std::size_t brain, const std::string& name) const {
  return areas_[area_at(name)].overlap.at(brain);
}

bool Batch::updated(const std::string& name) const { return areas_[area_at(name)].updated; }

Batch::Row Batch::row(std::size_t brain, std::size_t f, NeuronId source) const {
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

void Batch::set_beta(std::size_t brain, std::size_t f, double beta) {
  if (!(beta >= 0.0) || !std::isfinite(beta)) {
    throw Error::bad_input("beta", to_text(beta), "must be a finite number >= 0");
  }
  FiberState& fiber = fibers_.at(f);
  fiber.beta.at(brain) = beta;
  const auto factor = static_cast<float>(1.0 + beta);
  backend_.copy_from_host(fiber.factor.data() + brain, &factor, sizeof factor);
}

}  // namespace engram::assembly
