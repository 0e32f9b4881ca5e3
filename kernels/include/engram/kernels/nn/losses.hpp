#pragma once
// Losses with their gradients, one work item per row (softmax cross-entropy, cosine similarity)
// or per element (Poisson negative log-likelihood, MSE). Each writes the per-item loss; the
// caller reduces (a mean over items is the usual choice) and passes that reduction's factor as
// `scale`, which multiplies the gradient.
//
//   engram::nn::SoftmaxCrossEntropy<float>{logits, labels, loss, dlogits, classes, 1.0f / rows}(r);
#include <cstdint>

#include "engram/kernels/nn/math.hpp"

namespace engram::nn {

// loss[r] = logsumexp(x_r) - x_r[label_r]; dx = scale * (softmax(x_r) - onehot(label_r)).
// dx may be null (evaluation).
template <class T>
struct SoftmaxCrossEntropy {
  const T* logits;
  const std::int32_t* labels;
  T* loss;
  T* dlogits;
  std::int64_t classes;
  T scale;
  ENGRAM_HD void operator()(std::int64_t r) const {
    const T* x = logits + r * classes;
    T m = x[0];
    for (std::int64_t c = 1; c < classes; ++c) m = max_(m, x[c]);
    T sum = 0;
    for (std::int64_t c = 0; c < classes; ++c) sum += exp_(x[c] - m);
    const T lse = m + log_(sum);
    loss[r] = lse - x[labels[r]];
    if (dlogits == nullptr) return;
    for (std::int64_t c = 0; c < classes; ++c) {
      dlogits[r * classes + c] = scale * (exp_(x[c] - lse) - (c == labels[r] ? T(1) : T(0)));
    }
  }
};

// Poisson NLL with log-rate input (torch.nn.PoissonNLLLoss(log_input=True, full=False)):
// loss = exp(x) - y x; d/dx = exp(x) - y.
template <class T>
struct PoissonNll {
  const T* log_rate;
  const T* counts;
  T* loss;
  T* dlog_rate;
  T scale;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const T rate = exp_(log_rate[i]);
    loss[i] = rate - counts[i] * log_rate[i];
    if (dlog_rate != nullptr) dlog_rate[i] = scale * (rate - counts[i]);
  }
};

// loss = (x - y)^2; d/dx = 2 (x - y).
template <class T>
struct MeanSquaredError {
  const T* x;
  const T* target;
  T* loss;
  T* dx;
  T scale;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const T d = x[i] - target[i];
    loss[i] = d * d;
    if (dx != nullptr) dx[i] = scale * T(2) * d;
  }
};

// Cosine similarity of rows a_r, b_r (torch.nn.functional.cosine_similarity, norms clamped at
// eps): out[r] = a.b / (max(|a|, eps) max(|b|, eps)); gradients scaled by dout[r] * scale.
template <class T>
struct CosineSimilarity {
  const T* a;
  const T* b;
  T* out;
  const T* dout;  // null: forward only
  T* da;
  T* db;
  std::int64_t cols;
  T eps;
  ENGRAM_HD void operator()(std::int64_t r) const {
    const T* ar = a + r * cols;
    const T* br = b + r * cols;
    T ab = 0, aa = 0, bb = 0;
    for (std::int64_t c = 0; c < cols; ++c) {
      ab += ar[c] * br[c];
      aa += ar[c] * ar[c];
      bb += br[c] * br[c];
    }
    const T na = max_(sqrt_(aa), eps), nb = max_(sqrt_(bb), eps);
    const T cos = ab / (na * nb);
    out[r] = cos;
    if (dout == nullptr) return;
    const T g = dout[r];
    // d|a|/da = a/|a| only where the clamp is inactive.
    const T ka = sqrt_(aa) > eps ? cos / (na * na) : T(0);
    const T kb = sqrt_(bb) > eps ? cos / (nb * nb) : T(0);
    for (std::int64_t c = 0; c < cols; ++c) {
      da[r * cols + c] = g * (br[c] / (na * nb) - ka * ar[c]);
      db[r * cols + c] = g * (ar[c] / (na * nb) - kb * br[c]);
    }
  }
};

// The reduction of a batch of runs' per-item losses: one item per run, out[r] = the sum of its
// `per_run` values in double, in order (the same bits for any number of runs or threads).
template <class T>
struct RunSum {
  const T* values;
  double* out;
  std::int64_t per_run;
  ENGRAM_HD void operator()(std::int64_t r) const {
    double total = 0;
    for (std::int64_t i = 0; i < per_run; ++i) total += static_cast<double>(values[r * per_run + i]);
    out[r] = total;
  }
};

}  // namespace engram::nn
