#pragma once
// Naive attention oracle: the full [queries, keys] score matrix per (sequence, head), softmax,
// and the textbook backward through it, all in double. Same packed layout and masks as
// kernels/attention/flash_attention.hpp.
#include <cmath>
#include <cstdint>
#include <vector>

namespace engram::reference {

struct NaiveAttention {
  std::vector<std::int64_t> q_offsets, k_offsets;
  std::int64_t heads = 1, head_dim = 16;
  bool causal = false;
  std::vector<std::uint8_t> key_valid;  // empty: all valid
  double scale = 0.25;

  // Returns O; dq/dk/dv get the gradients of sum(O * dout) when dout is not empty.
  std::vector<double> run(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v,
                          const std::vector<double>& dout, std::vector<double>* dq, std::vector<double>* dk,
                          std::vector<double>* dv) const {
    const std::int64_t H = heads, D = head_dim;
    std::vector<double> o(q.size(), 0.0);
    if (dq) dq->assign(q.size(), 0.0);
    if (dk) dk->assign(k.size(), 0.0);
    if (dv) dv->assign(v.size(), 0.0);
    for (std::size_t s = 0; s + 1 < q_offsets.size(); ++s) {
      const std::int64_t q0 = q_offsets[s], nq = q_offsets[s + 1] - q0;
      const std::int64_t k0 = k_offsets[s], nk = k_offsets[s + 1] - k0;
      for (std::int64_t h = 0; h < H; ++h) {
        std::vector<double> p(static_cast<std::size_t>(nq * nk), 0.0);
        for (std::int64_t i = 0; i < nq; ++i) {
          double m = -INFINITY;
          std::vector<double> sc(static_cast<std::size_t>(nk), -INFINITY);
          for (std::int64_t j = 0; j < nk; ++j) {
            const bool ok = (key_valid.empty() || key_valid[k0 + j]) && (!causal || j <= i);
            if (!ok) continue;
            double d = 0;
            for (std::int64_t e = 0; e < D; ++e) d += q[((q0 + i) * H + h) * D + e] * k[((k0 + j) * H + h) * D + e];
            sc[j] = d * scale;
            m = std::max(m, sc[j]);
          }
          if (m == -INFINITY) continue;  // no visible key: output 0
          double z = 0;
          for (std::int64_t j = 0; j < nk; ++j) z += sc[j] == -INFINITY ? 0.0 : std::exp(sc[j] - m);
          for (std::int64_t j = 0; j < nk; ++j) {
            p[i * nk + j] = sc[j] == -INFINITY ? 0.0 : std::exp(sc[j] - m) / z;
            for (std::int64_t e = 0; e < D; ++e) o[((q0 + i) * H + h) * D + e] += p[i * nk + j] * v[((k0 + j) * H + h) * D + e];
          }
        }
        if (dout.empty()) continue;
        for (std::int64_t i = 0; i < nq; ++i) {
          // dP = dO V^T; dS = P (dP - rowsum(P dP)) * scale
          std::vector<double> dp(static_cast<std::size_t>(nk), 0.0);
          double row = 0;
          for (std::int64_t j = 0; j < nk; ++j) {
            for (std::int64_t e = 0; e < D; ++e) dp[j] += dout[((q0 + i) * H + h) * D + e] * v[((k0 + j) * H + h) * D + e];
            row += p[i * nk + j] * dp[j];
          }
          for (std::int64_t j = 0; j < nk; ++j) {
            const double pij = p[i * nk + j];
            const double ds = pij * (dp[j] - row) * scale;
            for (std::int64_t e = 0; e < D; ++e) {
              (*dv)[((k0 + j) * H + h) * D + e] += pij * dout[((q0 + i) * H + h) * D + e];
              (*dq)[((q0 + i) * H + h) * D + e] += ds * k[((k0 + j) * H + h) * D + e];
              (*dk)[((k0 + j) * H + h) * D + e] += ds * q[((q0 + i) * H + h) * D + e];
            }
          }
        }
      }
    }
    return o;
  }
};

}  // namespace engram::reference
