// Tiled online-softmax attention (float, every backend) against the naive full-score oracle in
// double: forward output and all three gradients within 1e-5, for no mask, padding masks, the
// causal mask and ragged packed sequences, at head dims 16 to 128 and sequences longer than one
// key tile. The CPU backend runs its SIMD fast path (cpu_flash_attention.hpp; the portable functors
// for a head dim that is not a multiple of 8), so the portable functors are also run directly on
// the host against the same oracle; the fast path's bits must depend neither on the thread count
// nor on which other sequences share the call, and its exp2 is checked against std::exp2.
// Also the Backend::gemm contract against plain loops, all transpose patterns.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engram/engine/memory/buffer.hpp"
#include "engram/models/nn/attention.hpp"
#include "reference/attention_reference.hpp"
#include "support/backends.hpp"
#include "support/threads.hpp"

namespace {

struct Case {
  std::string name;
  std::vector<std::int64_t> lengths;
  std::int64_t heads, head_dim;
  bool causal, padding;
};

template <class T>
std::vector<T> download(engram::Backend& b, const T* ptr, std::size_t n) {
  std::vector<T> out(n);
  b.copy_to_host(out.data(), ptr, n * sizeof(T));
  return out;
}

template <class T>
T* upload(engram::Backend& b, const std::vector<T>& host) {
  T* p = static_cast<T*>(b.allocate(std::max<std::size_t>(host.size(), 1) * sizeof(T)));
  b.copy_from_host(p, host.data(), host.size() * sizeof(T));
  return p;
}

double max_scaled_error(const std::vector<float>& got, const std::vector<double>& want) {
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]) / std::max(1.0, std::abs(want[i])));
  }
  return worst;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"plain_d16", {40}, 2, 16, false, false},
      {"padded_d32", {70, 70}, 3, 32, false, true},
      {"causal_d64", {67, 67}, 2, 64, true, false},
      {"ragged_causal_padded_d128", {1, 33, 100, 7}, 2, 128, true, true},
      {"ragged_d48", {5, 64, 31}, 1, 48, false, false},
      {"causal_long_d16", {300, 129}, 2, 16, true, false},  // many key and query blocks
      {"ragged_causal_d20", {3, 90}, 2, 20, true, false},   // not a multiple of 8: portable path
  };
  return all;
}

// Forward then backward through `run`, which gets the device pointers.
using Runner = std::function<void(const engram::attention::AttentionForward<float>&,
                                  const engram::attention::AttentionBackward<float>&, std::int64_t total)>;

// Outputs of one case: O, LSE, dQ, dK, dV.
struct Outputs {
  std::vector<float> o, lse, dq, dk, dv;
};

void check_against_reference(engram::Backend& backend, const Runner& run, Outputs* keep = nullptr,
                             const std::vector<Case>& list = cases()) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (const Case& c : list) {
    SCOPED_TRACE(c.name);
    std::vector<std::int64_t> offsets{0};
    for (std::int64_t len : c.lengths) offsets.push_back(offsets.back() + len);
    const std::int64_t total = offsets.back(), H = c.heads, D = c.head_dim;
    const std::size_t n = static_cast<std::size_t>(total * H * D);
    std::vector<std::uint8_t> valid(static_cast<std::size_t>(total), 1);
    if (c.padding) {  // the tail of every sequence is padding, as in a padded batch
      for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
        const std::int64_t len = offsets[s + 1] - offsets[s];
        for (std::int64_t t = offsets[s] + (len * 3) / 4 + 1; t < offsets[s + 1]; ++t) valid[t] = 0;
      }
      // A padded first key: under the causal mask that sequence's first query sees no key at all.
      if (c.lengths.size() > 1) valid[offsets[1]] = 0;
    }
    std::vector<float> q(n), k(n), v(n), dout(n);
    for (auto* vec : {&q, &k, &v, &dout}) {
      for (float& x : *vec) x = static_cast<float>(normal(rng));
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    engram::reference::NaiveAttention ref{offsets, offsets, H, D, c.causal,
                                          c.padding ? valid : std::vector<std::uint8_t>{}, scale};
    auto widen = [](const std::vector<float>& x) { return std::vector<double>(x.begin(), x.end()); };
    std::vector<double> rdq, rdk, rdv;
    const std::vector<double> ro = ref.run(widen(q), widen(k), widen(v), widen(dout), &rdq, &rdk, &rdv);

    auto* d_off = upload(backend, offsets);
    auto* d_valid = upload(backend, valid);
    float* d_q = upload(backend, q);
    float* d_k = upload(backend, k);
    float* d_v = upload(backend, v);
    float* d_dout = upload(backend, dout);
    float* d_o = upload(backend, std::vector<float>(n));
    float* d_lse = upload(backend, std::vector<float>(static_cast<std::size_t>(total * H)));
    float* d_delta = upload(backend, std::vector<float>(static_cast<std::size_t>(total * H)));
    float* d_dq = upload(backend, std::vector<float>(n));
    float* d_dk = upload(backend, std::vector<float>(n));
    float* d_dv = upload(backend, std::vector<float>(n));
    const engram::attention::AttentionShape shape{d_off, d_off, static_cast<std::int64_t>(c.lengths.size()), H, D,
                                                  c.causal, c.padding ? d_valid : nullptr, scale};
    run({shape, d_q, d_k, d_v, d_o, d_lse}, {shape, d_q, d_k, d_v, d_o, d_lse, d_dout, d_delta, d_dq, d_dk, d_dv, total},
        total);
    Outputs out{download(backend, d_o, n), download(backend, d_lse, static_cast<std::size_t>(total * H)),
                download(backend, d_dq, n), download(backend, d_dk, n), download(backend, d_dv, n)};
    EXPECT_LT(max_scaled_error(out.o, ro), 1e-5);
    EXPECT_LT(max_scaled_error(out.dq, rdq), 1e-5);
    EXPECT_LT(max_scaled_error(out.dk, rdk), 1e-5);
    EXPECT_LT(max_scaled_error(out.dv, rdv), 1e-5);
    // The saved LSE is the log-partition of each visible row.
    for (float x : out.lse) EXPECT_FALSE(std::isnan(x));
    if (keep != nullptr) *keep = std::move(out);
    for (void* p : std::initializer_list<void*>{d_off, d_valid, d_q, d_k, d_v, d_dout, d_o, d_lse, d_delta, d_dq, d_dk, d_dv}) {
      backend.release(p);
    }
  }
}

class AttentionParity : public ::testing::TestWithParam<std::string> {};

TEST_P(AttentionParity, MatchesNaiveFullScoreReference) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  check_against_reference(backend, [&](const auto& fwd, const auto& bwd, std::int64_t total) {
    engram::models::attention_forward(backend, fwd, total);
    engram::models::attention_backward(backend, bwd, total);
  });
}

// The portable functors (the CUDA kernels' source), run on the host item by item.
TEST(AttentionPortable, MatchesNaiveFullScoreReference) {
  ENGRAM_BACKEND_OR_SKIP(backend, "cpu");
  namespace at = engram::attention;
  check_against_reference(backend, [](const at::AttentionForward<float>& fwd, const at::AttentionBackward<float>& bwd,
                                      std::int64_t total) {
    for (std::int64_t i = 0; i < at::work_items(total, fwd.shape.heads); ++i) fwd(i);
    for (std::int64_t i = 0; i < at::work_items(total, bwd.shape.heads); ++i) at::AttentionBackwardQueryPass<float>{bwd}(i);
    for (std::int64_t i = 0; i < at::work_items(total, bwd.shape.heads); ++i) at::AttentionBackwardKeyPass<float>{bwd}(i);
  });
}

TEST(AttentionCpuFastPath, SameBitsOnEveryThreadCount) {
  ENGRAM_BACKEND_OR_SKIP(backend, "cpu");
  const std::vector<Case> list = {{"ragged_causal_padded_d64", {1, 33, 100, 7, 70}, 3, 64, true, true}};
  std::vector<Outputs> runs;
  for (int threads : engram::testing::kThreadCounts) {
    engram::testing::OmpThreads scope(threads);
    Outputs out;
    check_against_reference(backend, [&](const auto& fwd, const auto& bwd, std::int64_t total) {
      engram::models::attention_forward(backend, fwd, total);
      engram::models::attention_backward(backend, bwd, total);
    }, &out, list);
    runs.push_back(std::move(out));
  }
  for (std::size_t r = 1; r < runs.size(); ++r) {
    EXPECT_EQ(runs[r].o, runs[0].o);
    EXPECT_EQ(runs[r].lse, runs[0].lse);
    EXPECT_EQ(runs[r].dq, runs[0].dq);
    EXPECT_EQ(runs[r].dk, runs[0].dk);
    EXPECT_EQ(runs[r].dv, runs[0].dv);
  }
}

// A sequence's outputs and gradients are the same bits alone as packed with other sequences of
// other lengths (the tiles of a sequence start at its own first row and key).
TEST(AttentionCpuFastPath, SameBitsAloneOrPackedWithOtherSequences) {
  namespace at = engram::attention;
  const std::vector<std::int64_t> lengths = {70, 5, 200, 33};
  const std::int64_t H = 2, D = 32;
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  struct Run {
    std::vector<float> o, lse, dq, dk, dv;
  };
  std::vector<std::int64_t> offsets{0};
  for (std::int64_t len : lengths) offsets.push_back(offsets.back() + len);
  const std::int64_t total = offsets.back();
  std::vector<float> q(total * H * D), k(q.size()), v(q.size()), dout(q.size());
  for (auto* x : {&q, &k, &v, &dout}) {
    for (float& e : *x) e = normal(rng);
  }
  std::vector<std::uint8_t> valid(static_cast<std::size_t>(total), 1);
  for (std::int64_t t = 0; t < total; t += 7) valid[t] = 0;
  // Sequences [first, last) of the pack on their own (inputs sliced from the packed ones).
  auto run = [&](std::size_t first, std::size_t last, bool causal) {
    std::vector<std::int64_t> off{0};
    for (std::size_t s = first; s < last; ++s) off.push_back(off.back() + lengths[s]);
    const std::int64_t n = off.back(), begin = offsets[first];
    auto slice = [&](const std::vector<float>& x) {
      return std::vector<float>(x.begin() + begin * H * D, x.begin() + (begin + n) * H * D);
    };
    std::vector<float> sq = slice(q), sk = slice(k), sv = slice(v), sd = slice(dout), delta(n * H);
    std::vector<std::uint8_t> sval(valid.begin() + begin, valid.begin() + begin + n);
    Run r{std::vector<float>(sq.size()), std::vector<float>(n * H), std::vector<float>(sq.size()),
          std::vector<float>(sq.size()), std::vector<float>(sq.size())};
    const at::AttentionShape shape{off.data(), off.data(), static_cast<std::int64_t>(last - first), H, D, causal,
                                   sval.data(), 1.0f / std::sqrt(static_cast<float>(D))};
    at::cpu::forward({shape, sq.data(), sk.data(), sv.data(), r.o.data(), r.lse.data()});
    at::cpu::backward({shape, sq.data(), sk.data(), sv.data(), r.o.data(), r.lse.data(), sd.data(), delta.data(),
                       r.dq.data(), r.dk.data(), r.dv.data(), n});
    return r;
  };
  for (bool causal : {false, true}) {
    const Run packed = run(0, lengths.size(), causal);
    for (std::size_t s = 0; s < lengths.size(); ++s) {
      SCOPED_TRACE("sequence " + std::to_string(s) + (causal ? " causal" : ""));
      const Run alone = run(s, s + 1, causal);
      const auto rows = static_cast<std::size_t>(offsets[s] * H), nrows = static_cast<std::size_t>(lengths[s] * H);
      auto part = [&](const std::vector<float>& x, std::size_t width) {
        return std::vector<float>(x.begin() + static_cast<std::ptrdiff_t>(rows * width),
                                  x.begin() + static_cast<std::ptrdiff_t>((rows + nrows) * width));
      };
      const auto d = static_cast<std::size_t>(D);
      EXPECT_EQ(part(packed.o, d), alone.o);
      EXPECT_EQ(part(packed.lse, 1), alone.lse);
      EXPECT_EQ(part(packed.dq, d), alone.dq);
      EXPECT_EQ(part(packed.dk, d), alone.dk);
      EXPECT_EQ(part(packed.dv, d), alone.dv);
    }
  }
}

// The fast path's exp2: within 2 ulp of std::exp2 over [-125, 127], exactly 1 at 0 (an unchanged
// running maximum rescales nothing), exactly 0 at and below -127 (hidden scores), NaN kept.
TEST(AttentionCpuFastPath, Exp2WithinTwoUlp) {
  namespace cpu = engram::attention::cpu;
  auto exp2_of = [](float x) {
    float lanes[cpu::kLanes];
    for (float& e : lanes) e = x;
    cpu::Vec in;
    std::memcpy(&in, lanes, sizeof in);
    const cpu::Vec out = cpu::detail::vexp2(in);
    std::memcpy(lanes, &out, sizeof out);
    return lanes[0];
  };
  double worst = 0;
  float worst_at = 0;
  for (int i = 0; i <= 500000; ++i) {
    const float x = -125.0f + 252.0f * static_cast<float>(i) / 500000.0f;
    const float want = std::exp2(x);
    const float spacing = std::nextafter(want, std::numeric_limits<float>::infinity()) - want;
    const double err = std::abs(static_cast<double>(exp2_of(x)) - std::exp2(static_cast<double>(x))) / spacing;
    if (err > worst) {
      worst = err;
      worst_at = x;
    }
  }
  EXPECT_LE(worst, 2.0) << "at x = " << worst_at;
  EXPECT_EQ(exp2_of(0.0f), 1.0f);
  EXPECT_EQ(exp2_of(1.0f), 2.0f);
  EXPECT_EQ(exp2_of(-127.0f), 0.0f);
  EXPECT_EQ(exp2_of(std::numeric_limits<float>::lowest()), 0.0f);
  EXPECT_EQ(exp2_of(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_TRUE(std::isnan(exp2_of(std::numeric_limits<float>::quiet_NaN())));
}

TEST_P(AttentionParity, GemmMatchesLoopsForEveryTransposePattern) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  const std::int64_t m = 37, n = 23, k = 41;
  for (int pattern = 0; pattern < 4; ++pattern) {
    const bool ta = pattern & 1, tb = pattern & 2;
    std::vector<float> a(m * k), b(k * n), c(m * n);
    for (auto* vec : {&a, &b, &c}) {
      for (float& x : *vec) x = u(rng);
    }
    std::vector<double> want(m * n);
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (std::int64_t l = 0; l < k; ++l) {
          s += static_cast<double>(ta ? a[l * m + i] : a[i * k + l]) * (tb ? b[j * k + l] : b[l * n + j]);
        }
        want[i * n + j] = 1.5 * s + 0.5 * c[i * n + j];
      }
    }
    float* da = upload(backend, a);
    float* db = upload(backend, b);
    float* dc = upload(backend, c);
    backend.gemm(ta, tb, m, n, k, 1.5f, da, db, 0.5f, dc);
    EXPECT_LT(max_scaled_error(download(backend, dc, c.size()), want), 1e-5) << "pattern " << pattern;
    for (void* p : {static_cast<void*>(da), static_cast<void*>(db), static_cast<void*>(dc)}) backend.release(p);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, AttentionParity, ::testing::Values("cpu", "cuda"), engram::testing::backend_name);

}  // namespace
