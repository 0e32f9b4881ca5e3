// The lazy mode (assembly::LazyBatch) and its tail sampler (select/tail_topk.hpp).
//
// Sampler: the k largest of N i.i.d. binomials drawn by inverse-CDF order statistics match the
// top k of N binomials drawn one by one (brute force), for small N (all sampled), moderate N, and
// sums of binomials with different p; at N = 10^9 the maximum follows F(x)^N exactly.
// LazyBatch: the acceptance cases (n = 10^6 convergence, support within 3% of the exact
// mode at n = 10^5 and p = 0.05 and 0.01, n = 10^9 with k = 10^4 in bounded memory),
// bit-identity alone vs in a batch and on 1 vs 2 threads, the edge bookkeeping, the controls.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/select/tail_topk.hpp"
#include "engram/models/assembly/exact_batch.hpp"
#include "engram/models/assembly/lazy_batch.hpp"
#include "support/backends.hpp"
#include "support/threads.hpp"

namespace {

using engram::NeuronId;
using engram::Purpose;
using engram::RngKey;
using engram::RngStream;
using engram::assembly::AreaSpec;
using engram::assembly::BrainId;
using engram::assembly::BrainSpec;
using engram::assembly::FiberSpec;
using engram::assembly::GraphMode;
using engram::assembly::LazyBatch;
using engram::assembly::StimulusSpec;
namespace select = engram::select;

// ---- tail sampler -------------------------------------------------------------------------------

// A sum of independent binomials as one table, as LazyBatch builds it.
struct Table {
  std::int64_t lo = 0;
  std::vector<double> pmf, sf;
};

Table binomial_sum(const std::vector<std::pair<std::int64_t, double>>& parts) {
  Table total;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::int64_t lo = 0, hi = 0;
    select::binomial_range(parts[i].first, parts[i].second, lo, hi);
    std::vector<double> pmf(static_cast<std::size_t>(hi - lo + 1));
    select::binomial_pmf(parts[i].first, parts[i].second, lo, hi, pmf.data());
    if (i == 0) {
      total.lo = lo;
      total.pmf = pmf;
    } else {
      std::vector<double> sum(total.pmf.size() + pmf.size() - 1);
      select::convolve(total.pmf.data(), static_cast<std::int64_t>(total.pmf.size()), pmf.data(),
                       static_cast<std::int64_t>(pmf.size()), sum.data());
      total.lo += lo;
      total.pmf = sum;
    }
  }
  total.sf.resize(total.pmf.size());
  select::survival(total.pmf.data(), static_cast<std::int64_t>(total.pmf.size()), total.sf.data());
  return total;
}

std::vector<std::int64_t> sampled_top(const Table& t, std::uint64_t population, std::uint32_t count,
                                      std::uint32_t trial) {
  std::vector<std::int64_t> out(count);
  select::TopOrderStatistics{t.sf.data(), t.lo, static_cast<std::int64_t>(t.sf.size()), population, count,
                             RngKey{99, 1, Purpose::test, trial, 7}, out.data(), nullptr}(0);
  return out;
}

// Top `count` of `population` draws of sum_i Binomial(K_i, p_i), one by one, descending.
std::vector<std::int64_t> brute_top(const std::vector<std::pair<std::int64_t, double>>& parts,
                                    std::uint64_t population, std::uint32_t count, std::uint32_t trial) {
  RngStream rng(RngKey{1234, 2, Purpose::test, trial, 3});
  std::vector<std::int64_t> all(population);
  for (auto& x : all) {
    x = 0;
    for (const auto& [trials, p] : parts) x += static_cast<std::int64_t>(rng.binomial(static_cast<std::uint64_t>(trials), p));
  }
  const std::size_t keep = std::min<std::size_t>(count, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(), std::greater<>());
  all.resize(keep);
  return all;
}

// Two-sample Kolmogorov-Smirnov distance between integer samples.
double ks_distance(std::vector<std::int64_t> a, std::vector<std::int64_t> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::set<std::int64_t> values(a.begin(), a.end());
  values.insert(b.begin(), b.end());
  double worst = 0.0;
  for (const std::int64_t v : values) {
    const double fa = static_cast<double>(std::upper_bound(a.begin(), a.end(), v) - a.begin()) / static_cast<double>(a.size());
    const double fb = static_cast<double>(std::upper_bound(b.begin(), b.end(), v) - b.begin()) / static_cast<double>(b.size());
    worst = std::max(worst, std::fabs(fa - fb));
  }
  return worst;
}

struct Moments {
  double mean = 0, var = 0;
};
Moments moments(const std::vector<double>& x) {
  Moments m;
  for (double v : x) m.mean += v;
  m.mean /= static_cast<double>(x.size());
  for (double v : x) m.var += (v - m.mean) * (v - m.mean);
  m.var /= static_cast<double>(x.size() - 1);
  return m;
}

// Compares the sampler with brute force on the k-th value (KS at alpha ~ 0.001) and on the mean
// of the top k (means within 4.5 standard errors).
void expect_sampler_matches_brute_force(const std::vector<std::pair<std::int64_t, double>>& parts,
                                        std::uint64_t population, std::uint32_t k, std::uint32_t trials) {
  const Table table = binomial_sum(parts);
  const std::uint32_t count = static_cast<std::uint32_t>(std::min<std::uint64_t>(k, population));
  std::vector<std::int64_t> kth_s, kth_b, max_s, max_b;
  std::vector<double> mean_s, mean_b;
  for (std::uint32_t t = 0; t < trials; ++t) {
    const auto s = sampled_top(table, population, count, t);
    const auto b = brute_top(parts, population, count, t);
    ASSERT_EQ(s.size(), b.size());
    ASSERT_TRUE(std::is_sorted(s.rbegin(), s.rend())) << "sampler output must be descending";
    kth_s.push_back(s.back());
    kth_b.push_back(b.back());
    max_s.push_back(s.front());
    max_b.push_back(b.front());
    mean_s.push_back(std::accumulate(s.begin(), s.end(), 0.0) / count);
    mean_b.push_back(std::accumulate(b.begin(), b.end(), 0.0) / count);
  }
  const double ks_bound = 1.95 * std::sqrt(2.0 / trials);
  EXPECT_LT(ks_distance(kth_s, kth_b), ks_bound) << "k-th largest value";
  EXPECT_LT(ks_distance(max_s, max_b), ks_bound) << "largest value";
  const Moments ms = moments(mean_s), mb = moments(mean_b);
  const double se = std::sqrt((ms.var + mb.var) / trials);
  EXPECT_LT(std::fabs(ms.mean - mb.mean), 4.5 * se + 1e-12)
      << "mean of the top k: sampler " << ms.mean << " brute force " << mb.mean;
}

TEST(LazyTailSampler, BinomialTableSumsToOneAndMatchesThePmf) {
  const Table t = binomial_sum({{1000, 0.01}});
  EXPECT_NEAR(std::accumulate(t.pmf.begin(), t.pmf.end(), 0.0), 1.0, 1e-12);
  // P(X = 10) for Binomial(1000, 0.01), from lgamma.
  const double want = std::exp(std::lgamma(1001.0) - std::lgamma(11.0) - std::lgamma(991.0) + 10 * std::log(0.01) +
                               990 * std::log1p(-0.01));
  EXPECT_NEAR(t.pmf[static_cast<std::size_t>(10 - t.lo)] / want, 1.0, 1e-9);
  EXPECT_EQ(t.lo, 0);
  EXPECT_GT(static_cast<std::int64_t>(t.pmf.size()) + t.lo, 60);  // deep tail kept (1e-40 of the mode)
}

TEST(LazyTailSampler, MatchesBruteForceTopKOfModeratePopulation) {
  expect_sampler_matches_brute_force({{200, 0.05}}, 3000, 30, 1500);
}

TEST(LazyTailSampler, MatchesBruteForceWhenFewNeuronsRemain) {
  // Population below k: every draw is sampled (the "exact binomials" case of the literature).
  expect_sampler_matches_brute_force({{317, 0.01}}, 7, 20, 3000);
  expect_sampler_matches_brute_force({{317, 0.01}}, 40, 40, 2000);
}

TEST(LazyTailSampler, MatchesBruteForceForSumsWithDifferentP) {
  expect_sampler_matches_brute_force({{300, 0.01}, {500, 0.03}}, 2000, 25, 1500);
}

TEST(LazyTailSampler, MaximumOfABillionFollowsFToTheN) {
  // P(max <= x) = F(x)^N exactly; compare the sampler's maximum with it (KS, alpha ~ 0.001).
  const std::uint64_t N = 1000000000ull;
  const Table t = binomial_sum({{20000, 0.001}});
  constexpr std::uint32_t kTrials = 3000;
  std::vector<std::int64_t> maxima;
  for (std::uint32_t i = 0; i < kTrials; ++i) maxima.push_back(sampled_top(t, N, 100, i).front());
  std::sort(maxima.begin(), maxima.end());
  double worst = 0.0;
  for (std::size_t i = 0; i < t.pmf.size(); ++i) {
    const std::int64_t x = t.lo + static_cast<std::int64_t>(i);
    const double exact = std::exp(static_cast<double>(N) * std::log1p(-t.sf[i]));
    const double empirical =
        static_cast<double>(std::upper_bound(maxima.begin(), maxima.end(), x) - maxima.begin()) / kTrials;
    worst = std::max(worst, std::fabs(exact - empirical));
  }
  EXPECT_LT(worst, 1.95 / std::sqrt(double{kTrials}));
  // The maximum sits ~6 standard deviations above the mean of 20.
  const double mean_max = std::accumulate(maxima.begin(), maxima.end(), 0.0) / kTrials;
  EXPECT_GT(mean_max, 40.0);
  EXPECT_LT(mean_max, 55.0);
}

TEST(LazyTailSampler, SplitOfTwoEqualPFibersIsHypergeometric) {
  // a ~ Bin(300, p), r ~ Bin(700, p), a + r = x  =>  a ~ Hypergeometric: mean x * 300 / 1000.
  const Table a = binomial_sum({{300, 0.02}}), r = binomial_sum({{700, 0.02}});
  RngStream rng(RngKey{5, 0, Purpose::test, 0, 0});
  constexpr int kDraws = 20000;
  const std::int64_t x = 40;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < kDraws; ++i) {
    const std::int64_t share = select::split_first(a.pmf.data(), a.lo, static_cast<std::int64_t>(a.pmf.size()),
                                                   r.pmf.data(), r.lo, static_cast<std::int64_t>(r.pmf.size()), x,
                                                   rng.uniform());
    sum += static_cast<double>(share);
    sum2 += static_cast<double>(share * share);
  }
  const double mean = sum / kDraws, var = sum2 / kDraws - mean * mean;
  const double want_mean = 40.0 * 0.3;
  const double want_var = 40.0 * 0.3 * 0.7 * (1000.0 - 40.0) / 999.0;
  EXPECT_NEAR(mean, want_mean, 4.5 * std::sqrt(want_var / kDraws));
  EXPECT_NEAR(var, want_var, 0.05 * want_var);
}

// ---- LazyBatch ----------------------------------------------------------------------------------

BrainSpec lazy_one_area(NeuronId n, std::uint32_t k, double p, double beta, bool self_loops = true) {
  BrainSpec spec;
  spec.areas = {AreaSpec{"A", n, k, self_loops}};
  spec.stimuli = {StimulusSpec{"s", k}};
  spec.fibers = {FiberSpec{"s", "A", beta, {}}, FiberSpec{"A", "A", beta, {}}};
  spec.p = p;
  spec.mode = GraphMode::lazy;
  return spec;
}

// s -> A, A -> A, A -> B, B -> B (own p and beta), B -> A.
BrainSpec lazy_two_areas(NeuronId n, std::uint32_t k, double p, double beta) {
  BrainSpec spec;
  spec.areas = {AreaSpec{"A", n, k, true}, AreaSpec{"B", n, k, false}};
  spec.stimuli = {StimulusSpec{"s", k}};
  spec.fibers = {FiberSpec{"s", "A", beta, {}}, FiberSpec{"A", "A", beta, {}}, FiberSpec{"A", "B", beta, {}},
                 FiberSpec{"B", "B", 2.0 * beta, 1.5 * p}, FiberSpec{"B", "A", beta, {}}};
  spec.p = p;
  spec.mode = GraphMode::lazy;
  return spec;
}

std::vector<BrainId> brain_ids(std::uint64_t seed, std::uint32_t count) {
  std::vector<BrainId> ids;
  for (std::uint32_t i = 0; i < count; ++i) ids.push_back({seed, i});
  return ids;
}

struct Observation {
  std::vector<NeuronId> winners;
  std::uint64_t support;
  std::uint32_t overlap;
  bool updated;
  bool operator==(const Observation&) const = default;
};
using Trace = std::vector<std::vector<std::vector<Observation>>>;  // [step][brain][area]

Trace run(engram::assembly::BrainBatch& batch, int steps) {
  Trace trace;
  for (int t = 0; t < steps; ++t) {
    batch.project();
    auto& step = trace.emplace_back();
    for (std::size_t b = 0; b < batch.size(); ++b) {
      auto& brain = step.emplace_back();
      for (const AreaSpec& a : batch.spec().areas) {
        brain.push_back({batch.winners(b, a.name), batch.support(b, a.name), batch.overlap(b, a.name),
                         batch.updated(a.name)});
      }
    }
  }
  return trace;
}

// Two batches stepped in turn, each trace growing across calls, so a test can switch one batch's
// path (host or portable kernels, controls) between calls and compare the whole runs at the end.
struct LockstepTraces {
  engram::assembly::BrainBatch& a;
  engram::assembly::BrainBatch& b;
  Trace first, second;
  void steps(int count) {
    const Trace x = run(a, count), y = run(b, count);
    first.insert(first.end(), x.begin(), x.end());
    second.insert(second.end(), y.begin(), y.end());
  }
};

bool same_edges(const LazyBatch& x, std::size_t bx, const LazyBatch& y, std::size_t by) {
  for (std::size_t f = 0; f < x.spec().fibers.size(); ++f) {
    const auto ex = x.edges(bx, f), ey = y.edges(by, f);
    if (ex.size() != ey.size()) return false;
    for (std::size_t e = 0; e < ex.size(); ++e) {
      if (ex[e].source != ey[e].source || ex[e].target != ey[e].target || ex[e].weight != ey[e].weight) return false;
    }
  }
  return true;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class LazyBatchTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LazyBatchTest, MakeBatchBuildsTheLazyMode) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  const auto batch = engram::assembly::make_batch(backend, lazy_one_area(100000, 100, 0.01, 0.05), brain_ids(1, 2));
  EXPECT_NE(dynamic_cast<LazyBatch*>(batch.get()), nullptr);
  BrainSpec implicit = lazy_one_area(1000, 10, 0.01, 0.05);
  implicit.mode = GraphMode::implicit_graph;
  EXPECT_THROW(LazyBatch(backend, implicit, brain_ids(1, 1)), engram::Error);
  EXPECT_THROW(LazyBatch(backend, lazy_one_area(1000, 10, 0.01, 0.05), {}), engram::Error);
}

TEST_P(LazyBatchTest, FirstStepMaterialisesKNeuronsWithLearnedStimulusEdges) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  const double beta = 0.07;
  const std::uint32_t k = 200;
  const double p = 0.02;
  LazyBatch batch(backend, lazy_one_area(1000000, k, p, beta), brain_ids(3, 2));
  batch.project();
  const float scaled = static_cast<float>(1.0 + beta);
  for (std::size_t b = 0; b < 2; ++b) {
    std::vector<NeuronId> want(k);
    std::iota(want.begin(), want.end(), NeuronId{0});
    ASSERT_EQ(batch.winners(b, "A"), want);
    EXPECT_EQ(batch.support(b, "A"), k);
    EXPECT_EQ(batch.overlap(b, "A"), 0u);
    // Every stimulus neuron fired and every A neuron won: all stimulus edges learned once. A
    // winner's stimulus in-degree is its sampled input: the top k of 10^6 draws of Bin(200, 0.02)
    // (mean 4), so at least ~10 each.
    std::vector<std::uint32_t> in_degree(k, 0);
    for (const auto& e : batch.edges(b, 0)) {
      ASSERT_LT(e.source, k);
      ASSERT_LT(e.target, k);
      ASSERT_EQ(e.weight, scaled);
      ++in_degree[e.target];
    }
    EXPECT_GE(*std::min_element(in_degree.begin(), in_degree.end()), 9u);
    EXPECT_TRUE(std::is_sorted(in_degree.rbegin(), in_degree.rend()))
        << "new neurons take ids in order of decreasing input";
    // Recurrent edges among the k new neurons: Binomial(k^2, p), weight 1 (A had not fired).
    const auto rec = batch.edges(b, 1);
    const double mean = double{k} * k * p, sd = std::sqrt(mean * (1 - p));
    EXPECT_NEAR(static_cast<double>(rec.size()), mean, 5 * sd);
    for (const auto& e : rec) ASSERT_EQ(e.weight, 1.0f);
  }
}

TEST_P(LazyBatchTest, EdgesAreUniqueAndRespectSelfLoops) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  for (const bool self_loops : {true, false}) {
    LazyBatch batch(backend, lazy_one_area(100000, 100, 0.05, 0.1, self_loops), brain_ids(8, 1));
    run(batch, 8);
    const std::uint64_t support = batch.support(0, "A");
    EXPECT_GT(support, 100u);
    std::set<std::pair<NeuronId, NeuronId>> seen;
    std::size_t loops = 0;
    for (const auto& e : batch.edges(0, 1)) {
      ASSERT_LT(e.source, support);
      ASSERT_LT(e.target, support);
      ASSERT_TRUE(seen.insert({e.source, e.target}).second) << "edge drawn twice";
      loops += e.source == e.target;
    }
    if (!self_loops) {
      EXPECT_EQ(loops, 0u);
    }
    // Each ordered pair exists with probability >= p (more among the assembly): p * support^2.
    EXPECT_GT(static_cast<double>(seen.size()), 0.8 * 0.05 * static_cast<double>(support * support));
  }
}

TEST_P(LazyBatchTest, ProjectionConvergesAtAMillionNeurons) {
  // Acceptance: n = 10^6, k = 1000, p = 0.001, beta = 0.05 reaches overlap >= 0.99 by step 25.
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  LazyBatch batch(backend, lazy_one_area(1000000, 1000, 0.001, 0.05), brain_ids(2024, 2));
  const auto start = std::chrono::steady_clock::now();
  const Trace trace = run(batch, 25);
  const double elapsed = seconds_since(start);
  for (std::size_t b = 0; b < 2; ++b) {
    std::uint32_t best = 0;
    for (const auto& step : trace) best = std::max(best, step[b][0].overlap);
    EXPECT_GE(best, 990u) << "brain " << b;
    EXPECT_GE(trace.back()[b][0].overlap, 990u) << "brain " << b;
    std::printf("[ lazy n=1e6 ] brain %zu: support %llu, final overlap %u\n", b,
                static_cast<unsigned long long>(trace.back()[b][0].support), trace.back()[b][0].overlap);
  }
  std::printf("[ lazy n=1e6 ] 25 steps x 2 brains: %.3f s (%.2f ms per brain-step)\n", elapsed,
              1000.0 * elapsed / 50.0);
}

// Acceptance (lazy fidelity): after 25 steps of stimulus -> A with A -> A at n = 10^5, k = 317,
// beta = 0.05, the lazy mode's mean support over 16 seeds is within 3% of the exact (implicit)
// mode's, at p = 0.05 and at p = 0.01 (where redrawing a never-fired neuron's input every step,
// as the reference implementation does, overshot by +4% and +11%). The support varies by ~5%
// from seed to seed, so a 16-seed ratio has a standard error of ~2%: the test allows 3% plus two
// standard errors of the ratio (from the seeds' spread), which still fails the redrawing model
// at p = 0.01. ENGRAM_LAZY_FIDELITY_SEEDS=64 measures the bias more tightly (README quotes it).
class LazyFidelity : public ::testing::TestWithParam<double> {};

TEST_P(LazyFidelity, SupportWithinThreePercentOfExactMode) {
  const double p = GetParam();
  auto backend = engram::make_backend("cpu");
  BrainSpec spec = lazy_one_area(100000, 317, p, 0.05);
  const char* seeds = std::getenv("ENGRAM_LAZY_FIDELITY_SEEDS");
  const auto ids = brain_ids(77, seeds != nullptr ? static_cast<std::uint32_t>(std::max(16, std::atoi(seeds))) : 16u);
  const auto count = static_cast<double>(ids.size());
  constexpr int kSteps = 25;
  struct Spread {
    double mean, sd;
  };
  const auto support = [&](GraphMode mode) {
    spec.mode = mode;
    const auto start = std::chrono::steady_clock::now();
    const auto batch = engram::assembly::make_batch(*backend, spec, ids);
    for (int t = 0; t < kSteps; ++t) batch->project();
    double sum = 0.0, square = 0.0;
    for (std::size_t b = 0; b < ids.size(); ++b) {
      const auto s = static_cast<double>(batch->support(b, "A"));
      sum += s;
      square += s * s;
    }
    const Spread spread{sum / count, std::sqrt(std::max(0.0, (square - sum * sum / count) / (count - 1.0)))};
    std::printf("[ %s n=1e5 k=317 p=%.2f ] support %.1f (sd %.1f over %zu seeds) after %d steps, %.2f s\n",
                mode == GraphMode::lazy ? "lazy    " : "implicit", p, spread.mean, spread.sd, ids.size(), kSteps,
                seconds_since(start));
    return spread;
  };
  const Spread lazy = support(GraphMode::lazy);
  const Spread exact = support(GraphMode::implicit_graph);
  const double ratio = lazy.mean / exact.mean;
  const double se = ratio * std::sqrt((lazy.sd * lazy.sd / (lazy.mean * lazy.mean) +
                                       exact.sd * exact.sd / (exact.mean * exact.mean)) / count);
  std::printf("[ lazy / implicit p=%.2f ] %.4f +- %.4f (standard error)\n", p, ratio, se);
  EXPECT_NEAR(ratio, 1.0, 0.03 + 2.0 * se);
}

INSTANTIATE_TEST_SUITE_P(Acceptance, LazyFidelity, ::testing::Values(0.05, 0.01),
                         [](const ::testing::TestParamInfo<double>& param) {
                           return param.param == 0.05 ? std::string("p005") : std::string("p001");
                         });

TEST(LazyBatchAcceptance, BillionNeuronsWithTenThousandWinners) {
  // n = 10^9 per area, k = 10^4: nothing is O(n), so a few steps run in bounded memory and time.
  auto backend = engram::make_backend("cpu");
  BrainSpec spec = lazy_one_area(1000000000u, 10000, 0.001, 0.1);
  LazyBatch batch(*backend, spec, brain_ids(11, 1));
  const auto start = std::chrono::steady_clock::now();
  constexpr int kSteps = 15;
  const Trace trace = run(batch, kSteps);
  const double elapsed = seconds_since(start);
  std::printf("[ lazy n=1e9 k=1e4 p=0.001 ] %d steps in %.2f s; support", kSteps, elapsed);
  for (const auto& step : trace) std::printf(" %llu", static_cast<unsigned long long>(step[0][0].support));
  std::printf("; overlap");
  for (const auto& step : trace) std::printf(" %u", step[0][0].overlap);
  std::printf("; edges %llu + %llu; %.1f MiB\n", static_cast<unsigned long long>(batch.edge_count(0, 0)),
              static_cast<unsigned long long>(batch.edge_count(0, 1)),
              static_cast<double>(batch.memory_bytes()) / (1 << 20));
  EXPECT_LT(elapsed, 20.0);
  EXPECT_LT(batch.memory_bytes(), std::size_t{1} << 30);
  EXPECT_EQ(trace[0][0][0].support, 10000u);
  for (int t = 1; t < kSteps; ++t) {
    EXPECT_GE(trace[t][0][0].support, trace[t - 1][0][0].support);
    EXPECT_LE(trace[t][0][0].support, 10000u * static_cast<std::uint64_t>(t + 1));
  }
  EXPECT_GT(trace.back()[0][0].overlap, trace[1][0][0].overlap) << "overlap should rise";
  EXPECT_GT(trace.back()[0][0].overlap, 9000u);
}

// ---- determinism --------------------------------------------------------------------------------

std::vector<BrainId> mixed_brains() {
  std::vector<BrainId> ids;
  for (std::uint32_t i = 0; i < 12; ++i) ids.push_back({500 + i % 3, i});
  ids[11] = ids[4];
  return ids;
}

TEST_P(LazyBatchTest, BrainInBatchEqualsBrainAlone) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  const BrainSpec spec = lazy_two_areas(200000, 60, 0.02, 0.1);
  const auto ids = mixed_brains();
  constexpr int kSteps = 6;
  LazyBatch batch(backend, spec, ids);
  const Trace together = run(batch, kSteps);
  for (const std::size_t i : {0, 4, 5, 9, 11}) {
    LazyBatch alone(backend, spec, {ids[i]});
    const Trace single = run(alone, kSteps);
    for (int t = 0; t < kSteps; ++t) ASSERT_EQ(together[t][i], single[t][0]) << "brain " << i << " step " << t + 1;
    EXPECT_TRUE(same_edges(batch, i, alone, 0)) << "brain " << i;
  }
  EXPECT_NE(together.back()[0][0].winners, together.back()[3][0].winners);
  EXPECT_EQ(together.back()[4], together.back()[11]);
  EXPECT_GT(together.back()[0][1].support, 60u);  // B learned too
}

TEST(LazyBatchThreads, IdenticalOnOneAndTwoThreads) {
  auto backend = engram::make_backend("cpu");
  const BrainSpec spec = lazy_two_areas(200000, 60, 0.02, 0.1);
  std::vector<Trace> traces;
  std::vector<std::vector<LazyBatch::Edge>> edges;
  for (const int threads : engram::testing::kThreadCounts) {
    engram::testing::OmpThreads scoped(threads);
    LazyBatch batch(*backend, spec, mixed_brains());
    traces.push_back(run(batch, 6));
    edges.push_back(batch.edges(7, 1));
  }
  for (std::size_t i = 1; i < traces.size(); ++i) {
    EXPECT_TRUE(traces[i] == traces[0]) << engram::testing::kThreadCounts[i] << " threads";
    ASSERT_EQ(edges[i].size(), edges[0].size());
    for (std::size_t e = 0; e < edges[0].size(); ++e) {
      ASSERT_EQ(edges[i][e].weight, edges[0][e].weight);
      ASSERT_EQ(edges[i][e].target, edges[0][e].target);
    }
  }
}

// The CPU host path (each brain's inputs, one-pass k-cap and Hebbian on its own thread) against
// the portable kernels the CUDA backend runs: the same trajectories and edges, through a
// pattern-completion cue, on 1 and 2 threads.
TEST(LazyBatchHostPath, MatchesPortableKernelsBitForBit) {
  auto backend = engram::make_backend("cpu");
  const BrainSpec spec = lazy_two_areas(200000, 60, 0.02, 0.1);
  for (const int threads : engram::testing::kThreadCounts) {
    engram::testing::OmpThreads scoped(threads);
    LazyBatch host(*backend, spec, mixed_brains());
    LazyBatch portable(*backend, spec, mixed_brains());
    portable.set_portable_kernels(true);
    Trace host_trace = run(host, 4), portable_trace = run(portable, 4);
    host.fire_random_subset("A", 0.5);
    portable.fire_random_subset("A", 0.5);
    const Trace host_more = run(host, 3), portable_more = run(portable, 3);
    host_trace.insert(host_trace.end(), host_more.begin(), host_more.end());
    portable_trace.insert(portable_trace.end(), portable_more.begin(), portable_more.end());
    EXPECT_TRUE(host_trace == portable_trace) << threads << " threads";
    for (const std::size_t b : {0, 7, 11}) EXPECT_TRUE(same_edges(host, b, portable, b)) << "brain " << b;
  }
}

// The host path keeps per-target sums of the stimulus fibers' weights between steps: they must
// stay exact when steps alternate between the host path and the portable kernels (which scale
// weights without them) and when the stimulus pauses (its fiber's new edges are then drawn fresh).
TEST(LazyBatchHostPath, SwitchingPathsAndPausingTheStimulusKeepsTheBits) {
  auto backend = engram::make_backend("cpu");
  const BrainSpec spec = lazy_two_areas(200000, 60, 0.02, 0.1);
  LazyBatch mixed(*backend, spec, brain_ids(500, 3));
  LazyBatch portable(*backend, spec, brain_ids(500, 3));
  portable.set_portable_kernels(true);
  LockstepTraces lockstep{mixed, portable, {}, {}};
  const auto steps = [&](int count) { lockstep.steps(count); };
  steps(3);
  mixed.set_portable_kernels(true);
  steps(2);
  mixed.set_portable_kernels(false);
  steps(2);
  mixed.inhibit("s");
  portable.inhibit("s");
  steps(1);
  mixed.disinhibit("s");
  portable.disinhibit("s");
  steps(3);
  EXPECT_TRUE(lockstep.first == lockstep.second);
  for (const std::size_t b : {0, 1, 2}) EXPECT_TRUE(same_edges(mixed, b, portable, b)) << "brain " << b;
  EXPECT_NE(lockstep.first.back()[0][0].winners, lockstep.first.back()[1][0].winners);
}

// Area fibers past a few thousand edges are indexed by source on the host path, and the indexed
// edges' weights are kept (and scaled) in index order: they must read back, and steps on the
// portable kernels must see them, exactly as if they had stayed in the list.
TEST(LazyBatchHostPath, IndexedAreaFiberWeightsMatchPortableKernels) {
  auto backend = engram::make_backend("cpu");
  BrainSpec spec;
  spec.areas = {AreaSpec{"A", 100000, 100, false}};
  spec.stimuli = {StimulusSpec{"s", 100}};
  spec.fibers = {FiberSpec{"s", "A", 0.1, {}}, FiberSpec{"A", "A", 0.1, {}}};
  spec.p = 0.1;
  spec.mode = GraphMode::lazy;
  LazyBatch mixed(*backend, spec, brain_ids(77, 2));
  LazyBatch portable(*backend, spec, brain_ids(77, 2));
  portable.set_portable_kernels(true);
  LockstepTraces lockstep{mixed, portable, {}, {}};
  const auto steps = [&](int count) { lockstep.steps(count); };
  steps(4);
  ASSERT_GT(mixed.edge_count(0, 1), 4096u);  // past the index threshold (4096 edges)
  for (const std::size_t b : {0, 1}) EXPECT_TRUE(same_edges(mixed, b, portable, b)) << "brain " << b;
  mixed.set_portable_kernels(true);
  steps(2);
  mixed.set_portable_kernels(false);
  steps(4);
  EXPECT_TRUE(lockstep.first == lockstep.second);
  for (const std::size_t b : {0, 1}) EXPECT_TRUE(same_edges(mixed, b, portable, b)) << "brain " << b;
  // Learning changed some of the indexed weights (the test is not trivially equal).
  std::size_t grown = 0;
  for (const auto& e : mixed.edges(0, 1)) grown += e.weight != 1.0f;
  EXPECT_GT(grown, 100u);
}

// A batch that takes over a spent batch's storage (edge lists past the index threshold, source
// indexes, scratch; the spent one used other controls and ran longer) runs the same bits as a
// fresh batch, on the host path and on the portable kernels.
TEST(LazyBatchHostPath, ReusedStorageRunsTheSameBitsAsFresh) {
  auto backend = engram::make_backend("cpu");
  const BrainSpec spec = lazy_two_areas(100000, 100, 0.1, 0.1);
  for (const bool portable : {false, true}) {
    LazyBatch spent(*backend, spec, brain_ids(900, 2));
    spent.set_portable_kernels(portable);
    run(spent, 3);
    spent.inhibit("s");
    run(spent, 3);
    ASSERT_GT(spent.edge_count(0, 1), 4096u);  // indexed by source on the host path
    LazyBatch fresh(*backend, spec, brain_ids(31, 2));
    LazyBatch reused(*backend, spec, brain_ids(31, 2));
    reused.reuse_storage(spent);
    fresh.set_portable_kernels(portable);
    reused.set_portable_kernels(portable);
    const Trace fresh_trace = run(fresh, 5), reused_trace = run(reused, 5);
    EXPECT_TRUE(fresh_trace == reused_trace) << (portable ? "portable" : "host");
    for (const std::size_t b : {0, 1}) EXPECT_TRUE(same_edges(fresh, b, reused, b)) << "brain " << b;
    EXPECT_GT(reused.edge_count(1, 1), 1000u);
  }
}

// ---- controls -----------------------------------------------------------------------------------

TEST_P(LazyBatchTest, PlasticityOffLeavesWeightsAtOne) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  LazyBatch batch(backend, lazy_one_area(100000, 50, 0.05, 0.2), brain_ids(4, 2));
  batch.set_plasticity(false);
  run(batch, 4);
  for (std::size_t b = 0; b < 2; ++b) {
    for (std::size_t f = 0; f < 2; ++f) {
      for (const auto& e : batch.edges(b, f)) ASSERT_EQ(e.weight, 1.0f);
    }
  }
  // Per fiber: recurrence learns, the stimulus fiber does not.
  LazyBatch partial(backend, lazy_one_area(100000, 50, 0.05, 0.2), brain_ids(4, 1));
  partial.set_plasticity("s", "A", false);
  run(partial, 4);
  for (const auto& e : partial.edges(0, 0)) ASSERT_EQ(e.weight, 1.0f);
  const auto rec = partial.edges(0, 1);
  EXPECT_TRUE(std::any_of(rec.begin(), rec.end(), [](const auto& e) { return e.weight > 1.0f; }));
}

TEST_P(LazyBatchTest, InhibitAndFix) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  LazyBatch batch(backend, lazy_two_areas(100000, 50, 0.05, 0.1), brain_ids(6, 2));
  run(batch, 3);
  // An inhibited area is not updated and keeps its winners.
  const auto a_before = batch.winners(0, "A");
  const auto support_before = batch.support(0, "A");
  batch.inhibit("A");
  EXPECT_TRUE(batch.inhibited("A"));
  batch.project();
  EXPECT_FALSE(batch.updated("A"));
  EXPECT_TRUE(batch.updated("B"));  // B still hears itself
  EXPECT_EQ(batch.winners(0, "A"), a_before);
  EXPECT_EQ(batch.support(0, "A"), support_before);
  batch.disinhibit("A");
  // A fixed area keeps firing its set; the fibers into it still learn.
  batch.fix("A");
  const auto s_edges_before = batch.edges(0, 0);
  batch.project();
  EXPECT_TRUE(batch.updated("A"));
  EXPECT_EQ(batch.winners(0, "A"), a_before);
  EXPECT_EQ(batch.overlap(0, "A"), a_before.size());
  EXPECT_EQ(batch.support(0, "A"), support_before);
  const auto s_edges_after = batch.edges(0, 0);
  ASSERT_EQ(s_edges_before.size(), s_edges_after.size());
  std::size_t grew = 0;
  for (std::size_t e = 0; e < s_edges_after.size(); ++e) {
    const bool to_winner = std::binary_search(a_before.begin(), a_before.end(), s_edges_after[e].target);
    ASSERT_EQ(s_edges_after[e].weight, to_winner ? s_edges_before[e].weight * 1.1f : s_edges_before[e].weight);
    grew += to_winner;
  }
  EXPECT_GT(grew, 0u);
  batch.unfix("A");
  // Stimulus and fiber inhibition: with s and B -> A silenced, A runs on recurrence alone.
  batch.inhibit("s");
  batch.inhibit_fiber("B", "A");
  batch.project();
  EXPECT_TRUE(batch.updated("A"));
  batch.inhibit("A");
  batch.inhibit("B");
  batch.project();
  EXPECT_FALSE(batch.updated("A"));
  EXPECT_FALSE(batch.updated("B"));
  EXPECT_THROW(batch.inhibit("nope"), engram::Error);
  EXPECT_THROW(batch.fiber_index("B", "s"), engram::Error);
}

TEST_P(LazyBatchTest, SetFiringActivateAndRandomSubset) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  BrainSpec spec = lazy_one_area(100000, 40, 0.05, 0.1);
  spec.stimuli.clear();
  spec.fibers = {FiberSpec{"A", "A", 0.1, {}}};
  LazyBatch batch(backend, spec, brain_ids(12, 2));
  EXPECT_THROW(batch.fix("A"), engram::Error);
  batch.project();
  EXPECT_FALSE(batch.updated("A"));  // nothing fires yet
  // activate(0) on a fresh area materialises neurons 0..k-1.
  batch.activate("A", 0);
  std::vector<NeuronId> first(40);
  std::iota(first.begin(), first.end(), NeuronId{0});
  EXPECT_EQ(batch.winners(0, "A"), first);
  EXPECT_EQ(batch.support(1, "A"), 40u);
  // Their recurrent edges were drawn with probability p.
  EXPECT_GT(batch.edge_count(0, 0), 0u);
  batch.project();
  EXPECT_TRUE(batch.updated("A"));
  EXPECT_EQ(batch.winners(0, "A").size(), 40u);
  // Ragged firing sets: brain 0 fires 3 known neurons, brain 1 one known and two fresh ones
  // (relabelled to the next support ids).
  const std::uint64_t s1 = batch.support(1, "A");
  batch.set_firing("A", {{1, 2, 5}, {0, 99998, 99999}});
  EXPECT_EQ(batch.winners(0, "A"), (std::vector<NeuronId>{1, 2, 5}));
  EXPECT_EQ(batch.winners(1, "A"), (std::vector<NeuronId>{0, static_cast<NeuronId>(s1), static_cast<NeuronId>(s1 + 1)}));
  EXPECT_EQ(batch.support(1, "A"), s1 + 2);
  batch.project();
  EXPECT_EQ(batch.winners(0, "A").size(), 40u);  // a k-cap always yields k
  // A random half of the assembly.
  batch.fire_random_subset("A", 0.5);
  for (std::size_t b = 0; b < 2; ++b) EXPECT_EQ(batch.winners(b, "A").size(), 20u);
  EXPECT_THROW(batch.set_firing("A", {{3, 2}, {1}}), engram::Error);
  EXPECT_THROW(batch.set_firing("A", {{100000}, {1}}), engram::Error);
  EXPECT_THROW(batch.set_firing("A", {{1}}), engram::Error);
  EXPECT_THROW(batch.activate("A", 2500), engram::Error);
  EXPECT_THROW(batch.fire_random_subset("A", 0.0), engram::Error);
  const double density = batch.edge_density(0, "A", "A", batch.winners(0, "A"), batch.winners(0, "A"));
  EXPECT_GT(density, 0.0);
  EXPECT_LE(density, 1.0);
}

INSTANTIATE_TEST_SUITE_P(Backends, LazyBatchTest, ::testing::Values("cpu", "cuda"), engram::testing::backend_name);

}  // namespace
