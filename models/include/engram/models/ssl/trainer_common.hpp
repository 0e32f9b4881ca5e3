#pragma once
// What the Swap-VAE and MYOW trainers share: the per-run parameter store (parameters, running
// statistics, gradients, AdamW moments as [R, P] arrays), column copies between [rows, cols]
// blocks, and the record of a finished batch of runs (per-epoch curves, representations).
#include <cstdint>
#include <string>
#include <vector>

#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/nn/adamw.hpp"
#include "engram/models/ssl/batched_mlp.hpp"

namespace engram::ssl {

// One network's [R, P] state.
template <class T>
struct RunParams {
  std::int64_t runs = 0, per_run = 0, stats_per_run = 0;
  std::vector<T> value, grad, m, v, stats;

  void allocate(const BatchedMlp<T>& net) {
    runs = net.runs();
    per_run = net.params_per_run();
    stats_per_run = net.stats_per_run();
    const std::size_t n = static_cast<std::size_t>(runs * per_run);
    value.assign(n, T(0));
    grad.assign(n, T(0));
    m.assign(n, T(0));
    v.assign(n, T(0));
    stats.assign(static_cast<std::size_t>(runs * std::max<std::int64_t>(stats_per_run, 1)), T(0));
  }
  void zero_grad() { std::fill(grad.begin(), grad.end(), T(0)); }
  // One AdamW step per run with that run's learning rate; t is the 1-based step.
  void adamw(Exec& exec, const std::vector<double>& lr, const nn::AdamWConfig& base, std::int64_t t) {
    for (std::int64_t r = 0; r < runs; ++r) {
      nn::AdamWConfig c = base;
      c.lr = lr[static_cast<std::size_t>(r)];
      const std::size_t at = static_cast<std::size_t>(r * per_run);
      exec.for_each(per_run, nn::AdamW<T>{value.data() + at, grad.data() + at, m.data() + at, v.data() + at,
                                          nn::adam_step_scales(c, t), c});
    }
  }
};

// dst[row, dst_offset + j] (=|+=) src[row, src_offset + j] for j < count.
template <class T>
struct CopyColumns {
  const T* src;
  T* dst;
  std::int64_t src_cols, src_offset, dst_cols, dst_offset, count;
  bool accumulate;
  ENGRAM_HD void operator()(std::int64_t row) const {
    const T* s = src + row * src_cols + src_offset;
    T* d = dst + row * dst_cols + dst_offset;
    for (std::int64_t j = 0; j < count; ++j) d[j] = accumulate ? d[j] + s[j] : s[j];
  }
};

template <class T>
void copy_columns(Exec& exec, std::int64_t rows, const T* src, std::int64_t src_cols, std::int64_t src_offset, T* dst,
                  std::int64_t dst_cols, std::int64_t dst_offset, std::int64_t count, bool accumulate = false) {
  if (count > 0) exec.for_each(rows, CopyColumns<T>{src, dst, src_cols, src_offset, dst_cols, dst_offset, count, accumulate});
}

// Per-epoch means of one run's loss terms (names in SslRecord::curve_names).
struct SslRecord {
  std::string method;
  std::vector<std::string> curve_names;
  std::vector<std::vector<std::vector<double>>> curves;  // [run][epoch][term]
  std::vector<std::vector<double>> representation;       // [run] -> [bins, dim] in eval mode
  std::int64_t dim = 0;
  std::vector<std::vector<double>> style;                // Swap-VAE: [run] -> [bins, style dim]
  std::int64_t style_dim = 0;
};

// Learning-rate schedule shared by both trainers: linear warm-up, then cosine decay to 0 (the
// public MYOW code's schedule; warmup_steps 0 and decay false give a constant rate).
double scheduled_lr(double base, std::int64_t step, std::int64_t warmup_steps, std::int64_t total_steps, bool decay);

}  // namespace engram::ssl
