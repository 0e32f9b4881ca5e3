#include "engram/models/ssl/batched_mlp.hpp"

#include <cmath>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/nn/activations.hpp"
#include "engram/kernels/nn/linear.hpp"
#include "engram/models/ssl/run_kernels.hpp"
#include "engram/models/ssl/ssl_random.hpp"

namespace engram::ssl {

template <class T>
BatchedMlp<T>::BatchedMlp(MlpSpec spec, std::int64_t runs) : spec_(std::move(spec)), runs_(runs) {
  if (spec_.dims.size() < 2) throw Error::internal("BatchedMlp needs an input and an output size");
  if (runs_ <= 0) throw Error::internal("BatchedMlp needs at least one run");
  for (std::size_t l = 0; l + 1 < spec_.dims.size(); ++l) {
    Layer layer{};
    layer.in = spec_.dims[l];
    layer.out = spec_.dims[l + 1];
    layer.hidden = l + 2 < spec_.dims.size();
    layer.w = params_per_run_;
    params_per_run_ += layer.in * layer.out;
    layer.b = params_per_run_;
    params_per_run_ += layer.out;
    layer.gamma = layer.beta = layer.running_mean = layer.running_var = -1;
    if (layer.hidden && spec_.batch_norm) {
      layer.gamma = params_per_run_;
      layer.beta = params_per_run_ + layer.out;
      params_per_run_ += 2 * layer.out;
      layer.running_mean = stats_per_run_;
      layer.running_var = stats_per_run_ + layer.out;
      stats_per_run_ += 2 * layer.out;
    }
    layers_.push_back(layer);
  }
}

template <class T>
void BatchedMlp<T>::init(T* params, T* stats, const std::vector<std::uint64_t>& seeds, std::uint32_t tensor_base) const {
  if (static_cast<std::int64_t>(seeds.size()) != runs_) throw Error::internal("BatchedMlp::init needs one seed per run");
  for (std::int64_t r = 0; r < runs_; ++r) {
    T* p = params + r * params_per_run_;
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const Layer& L = layers_[l];
      const double bound = 1.0 / std::sqrt(static_cast<double>(L.in));
      for (std::int64_t o = 0; o < L.out; ++o) {
        RngStream rng(RngKey{seeds[static_cast<std::size_t>(r)], 0, purpose::init,
                             tensor_base + static_cast<std::uint32_t>(l), static_cast<std::uint32_t>(o)});
        for (std::int64_t i = 0; i < L.in; ++i) p[L.w + o * L.in + i] = static_cast<T>(bound * (2.0 * rng.uniform() - 1.0));
        p[L.b + o] = static_cast<T>(bound * (2.0 * rng.uniform() - 1.0));
        if (L.gamma >= 0) {
          p[L.gamma + o] = T(1);
          p[L.beta + o] = T(0);
          T* s = stats + r * stats_per_run_;
          s[L.running_mean + o] = T(0);
          s[L.running_var + o] = T(1);
        }
      }
    }
  }
}

template <class T>
void BatchedMlp<T>::forward(Exec& exec, const T* params, T* stats, const T* x, std::int64_t rows, NormMode mode,
                            MlpTape<T>& tape) const {
  const std::size_t n_layers = layers_.size();
  tape.rows = rows;
  tape.mode = mode;
  tape.inputs.resize(n_layers);
  tape.linear.resize(n_layers);
  tape.normed.resize(n_layers);
  tape.mean.resize(n_layers);
  tape.rstd.resize(n_layers);
  // inputs[0] is a copy of x; inputs[l + 1] is the ReLU output of layer l, written in place.
  tape.inputs[0].assign(x, x + runs_ * rows * layers_[0].in);
  for (std::size_t l = 0; l < n_layers; ++l) {
    const Layer& L = layers_[l];
    const auto& input = tape.inputs[l];
    auto& lin = tape.linear[l];
    lin.resize(static_cast<std::size_t>(runs_ * rows * L.out));
    for (std::int64_t r = 0; r < runs_; ++r) {
      const T* p = params + r * params_per_run_;
      nn::linear_forward(exec, input.data() + r * rows * L.in, p + L.w, p + L.b, lin.data() + r * rows * L.out, rows,
                         L.in, L.out);
    }
    if (!L.hidden) {
      tape.output = lin;
      return;
    }
    const T* pre = lin.data();
    if (L.gamma >= 0) {
      auto& normed = tape.normed[l];
      normed.resize(lin.size());
      if (mode == NormMode::eval) {
        exec.for_each(runs_ * rows * L.out,
                      RunsBatchNormEval<T>{lin.data(), params, stats, normed.data(), params_per_run_, L.gamma, L.beta,
                                           stats_per_run_, L.running_mean, L.running_var, rows, L.out});
      } else {
        tape.mean[l].resize(static_cast<std::size_t>(runs_ * L.out));
        tape.rstd[l].resize(static_cast<std::size_t>(runs_ * L.out));
        exec.for_each(runs_ * L.out,
                      RunsBatchNormTrain<T>{lin.data(), params, normed.data(), tape.mean[l].data(), tape.rstd[l].data(),
                                            mode == NormMode::train ? stats : nullptr, params_per_run_, L.gamma,
                                            L.beta, stats_per_run_, L.running_mean, L.running_var, rows, L.out});
      }
      pre = normed.data();
    }
    auto& next = tape.inputs[l + 1];
    next.resize(lin.size());
    exec.for_each(static_cast<std::int64_t>(lin.size()), nn::ReluForward<T>{pre, next.data()});
  }
}

template <class T>
void BatchedMlp<T>::backward(Exec& exec, const T* params, const MlpTape<T>& tape, const T* dy, T* dparams, T* dx) const {
  const std::int64_t rows = tape.rows;
  std::vector<T> grad(dy, dy + runs_ * rows * layers_.back().out), dpre, dlin, dinput;
  for (std::size_t li = layers_.size(); li-- > 0;) {
    const Layer& L = layers_[li];
    // grad holds d(layer output); for hidden layers that is d(ReLU output).
    const T* dlinear = grad.data();
    if (L.hidden) {
      const T* pre = L.gamma >= 0 ? tape.normed[li].data() : tape.linear[li].data();
      dpre.resize(grad.size());
      exec.for_each(static_cast<std::int64_t>(grad.size()), nn::ReluBackward<T>{pre, grad.data(), dpre.data()});
      dlinear = dpre.data();
      if (L.gamma >= 0) {
        dlin.resize(grad.size());
        if (tape.mode == NormMode::eval) {
          throw Error::internal("BatchedMlp::backward through eval-mode batch norm is not used by any trainer");
        }
        exec.for_each(runs_ * L.out, RunsBatchNormTrainBackward<T>{tape.linear[li].data(), params, dpre.data(),
                                                                   tape.mean[li].data(), tape.rstd[li].data(),
                                                                   dlin.data(), dparams, params_per_run_, L.gamma,
                                                                   L.beta, rows, L.out});
        dlinear = dlin.data();
      }
    }
    const bool need_dx = li > 0 || dx != nullptr;
    T* dinput_ptr = nullptr;
    if (need_dx) {
      if (li == 0) {
        dinput_ptr = dx;
      } else {
        dinput.resize(static_cast<std::size_t>(runs_ * rows * L.in));
        dinput_ptr = dinput.data();
      }
    }
    for (std::int64_t r = 0; r < runs_; ++r) {
      const T* p = params + r * params_per_run_;
      T* g = dparams + r * params_per_run_;
      nn::linear_backward(exec, tape.inputs[li].data() + r * rows * L.in, p + L.w, dlinear + r * rows * L.out,
                          dinput_ptr == nullptr ? nullptr : dinput_ptr + r * rows * L.in, g + L.w, g + L.b, rows, L.in,
                          L.out);
    }
    if (li > 0) grad.swap(dinput);
  }
}

template class BatchedMlp<float>;
template class BatchedMlp<double>;

}  // namespace engram::ssl
