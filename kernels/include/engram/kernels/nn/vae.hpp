#pragma once
// Variational-autoencoder pieces, forward and backward: the reparameterisation z = mu +
// exp(logvar / 2) * eps, the KL divergence of N(mu, exp(logvar)) from N(0, 1), and the
// reconstruction likelihoods of spike counts (Poisson with a rate, as Swap-VAE's softplus
// decoder) and of real values (Gaussian with a per-element log-variance). One work item per
// element, except the KL (one per row). Losses write the per-item loss; the caller reduces and
// passes the reduction's factor as `scale`, which multiplies the gradient (as losses.hpp).
//
//   engram::nn::Reparameterize<float>{mu, logvar, eps, z}(i);
//   engram::nn::ReparameterizeBackward<float>{logvar, eps, dz, dmu, dlogvar}(i);
//   engram::nn::GaussianKl<float>{mu, logvar, kl, dmu, dlogvar, dim, 1.0f / rows}(r);
#include <cstdint>

#include "engram/kernels/nn/math.hpp"

namespace engram::nn {

// eps is a standard-normal draw per element (drawn by the caller from a keyed stream, so the
// backward pass and a rerun see the same noise).
template <class T>
struct Reparameterize {
  const T* mu;
  const T* logvar;
  const T* eps;
  T* z;
  ENGRAM_HD void operator()(std::int64_t i) const { z[i] = mu[i] + exp_(T(0.5) * logvar[i]) * eps[i]; }
};

// Accumulates into dmu, dlogvar (the same latents usually feed several decoders).
template <class T>
struct ReparameterizeBackward {
  const T* logvar;
  const T* eps;
  const T* dz;
  T* dmu;
  T* dlogvar;
  ENGRAM_HD void operator()(std::int64_t i) const {
    dmu[i] += dz[i];
    dlogvar[i] += dz[i] * eps[i] * T(0.5) * exp_(T(0.5) * logvar[i]);
  }
};

// kl[r] = -1/2 sum_d (1 + logvar - mu^2 - exp(logvar)) over the row's `dim` latents; gradients
// (accumulated, may be null) dmu = scale mu, dlogvar = scale (exp(logvar) - 1) / 2.
template <class T>
struct GaussianKl {
  const T* mu;
  const T* logvar;
  T* kl;
  T* dmu;
  T* dlogvar;
  std::int64_t dim;
  T scale;
  ENGRAM_HD void operator()(std::int64_t r) const {
    T sum = 0;
    for (std::int64_t d = 0; d < dim; ++d) {
      const std::int64_t i = r * dim + d;
      const T e = exp_(logvar[i]);
      sum += T(1) + logvar[i] - mu[i] * mu[i] - e;
      if (dmu != nullptr) {
        dmu[i] += scale * mu[i];
        dlogvar[i] += scale * T(0.5) * (e - T(1));
      }
    }
    kl[r] = T(-0.5) * sum;
  }
};

// Poisson negative log-likelihood of counts y under a rate (not a log-rate): loss = rate - y
// log(rate + floor); the floor keeps a softplus rate that underflows to 0 finite (Swap-VAE's
// decoder ends in a softplus). d/drate = 1 - y / (rate + floor). Overwrites drate.
template <class T>
struct PoissonNllRate {
  const T* rate;
  const T* counts;
  T* loss;
  T* drate;
  T scale;
  T floor;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const T r = rate[i] + floor;
    loss[i] = rate[i] - counts[i] * log_(r);
    if (drate != nullptr) drate[i] = scale * (T(1) - counts[i] / r);
  }
};

// Gaussian negative log-likelihood without the constant: loss = (logvar + (y - mean)^2
// exp(-logvar)) / 2. Overwrites dmean and dlogvar (dlogvar may be null: fixed variance).
template <class T>
struct GaussianNll {
  const T* mean;
  const T* logvar;
  const T* target;
  T* loss;
  T* dmean;
  T* dlogvar;
  T scale;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const T d = mean[i] - target[i];
    const T inv = exp_(-logvar[i]);
    loss[i] = T(0.5) * (logvar[i] + d * d * inv);
    if (dmean != nullptr) dmean[i] = scale * d * inv;
    if (dlogvar != nullptr) dlogvar[i] = scale * T(0.5) * (T(1) - d * d * inv);
  }
};

}  // namespace engram::nn
