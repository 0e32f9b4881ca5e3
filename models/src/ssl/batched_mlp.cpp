#include "engram/models/ssl/batched_mlp.hpp"

#include <cmath>

#include "engram/engine/backend/launch.hpp"
#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/nn/activations.hpp"
#include "engram/models/nn/run_linear.hpp"
#include "engram/models/ssl/ssl_random.hpp"
#include "ssl_kernels.hpp"

namespace engram::ssl {

namespace {

// Launches of fewer items run inline on the CPU (a fork/join costs more than that much work).
constexpr std::int64_t kElementGrain = 8192;

// Channels per batch-norm item: a CPU thread takes two cache lines' worth of a run's channels and
// walks the rows; a GPU thread takes one channel.
std::int64_t norm_block(const Backend& backend) {
  return backend.kind() == BackendKind::cpu ? kernels::kNormBlock : 1;
}

template <class T>
T* ensure(Backend& backend, Buffer<T>& buffer, std::int64_t count) {
  if (static_cast<std::int64_t>(buffer.size()) < count) buffer = Buffer<T>(backend, static_cast<std::size_t>(count));
  return buffer.data();
}

}  // namespace

template <class T>
BatchedMlp<T>::BatchedMlp(Backend& backend, MlpSpec spec, std::int64_t runs, std::int64_t param_offset,
                          std::int64_t stats_offset)
    : backend_(&backend), spec_(std::move(spec)), runs_(runs), param_offset_(param_offset), stats_offset_(stats_offset) {
  if (spec_.dims.size() < 2) throw Error::internal("BatchedMlp needs an input and an output size");
  if (runs_ <= 0) throw Error::internal("BatchedMlp needs at least one run");
  std::int64_t at = param_offset_, stat = stats_offset_;
  for (std::size_t l = 0; l + 1 < spec_.dims.size(); ++l) {
    Layer layer{};
    layer.in = spec_.dims[l];
    layer.out = spec_.dims[l + 1];
    layer.hidden = l + 2 < spec_.dims.size();
    layer.w = at;
    at += layer.in * layer.out;
    layer.b = at;
    at += layer.out;
    layer.gamma = layer.beta = layer.running_mean = layer.running_var = -1;
    if (layer.hidden && spec_.batch_norm) {
      layer.gamma = at;
      layer.beta = at + layer.out;
      at += 2 * layer.out;
      layer.running_mean = stat;
      layer.running_var = stat + layer.out;
      stat += 2 * layer.out;
    }
    layers_.push_back(layer);
  }
  params_per_run_ = at - param_offset_;
  stats_per_run_ = stat - stats_offset_;
}

template <class T>
void BatchedMlp<T>::init_run(std::vector<T>& p, std::vector<T>& s, std::uint64_t seed, std::uint32_t tensor_base) const {
  if (static_cast<std::int64_t>(p.size()) < param_end() || static_cast<std::int64_t>(s.size()) < stats_end()) {
    throw Error::internal("BatchedMlp::init_run: host vectors smaller than the network's slices");
  }
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const Layer& L = layers_[l];
    const double bound = 1.0 / std::sqrt(static_cast<double>(L.in));
    for (std::int64_t o = 0; o < L.out; ++o) {
      RngStream rng(RngKey{seed, 0, purpose::init, tensor_base + static_cast<std::uint32_t>(l), static_cast<std::uint32_t>(o)});
      for (std::int64_t i = 0; i < L.in; ++i) {
        p[static_cast<std::size_t>(L.w + o * L.in + i)] = static_cast<T>(bound * (2.0 * rng.uniform() - 1.0));
      }
      p[static_cast<std::size_t>(L.b + o)] = static_cast<T>(bound * (2.0 * rng.uniform() - 1.0));
      if (L.gamma >= 0) {
        p[static_cast<std::size_t>(L.gamma + o)] = T(1);
        p[static_cast<std::size_t>(L.beta + o)] = T(0);
        s[static_cast<std::size_t>(L.running_mean + o)] = T(0);
        s[static_cast<std::size_t>(L.running_var + o)] = T(1);
      }
    }
  }
}

template <class T>
std::vector<models::runs::LarsTensor> BatchedMlp<T>::lars_tensors() const {
  std::vector<models::runs::LarsTensor> out;
  for (const Layer& L : layers_) {
    out.push_back({L.w, L.in * L.out, true});
    out.push_back({L.b, L.out, false});
    if (L.gamma >= 0) {
      out.push_back({L.gamma, L.out, false});
      out.push_back({L.beta, L.out, false});
    }
  }
  return out;
}

template <class T>
void BatchedMlp<T>::name_tensors(const std::string& prefix, StateStore params_store, bool with_stats,
                                 std::vector<NamedTensor>& out) const {
  // nn.Sequential numbers every module: Linear, then BatchNorm1d when present, then ReLU.
  std::int64_t module = 0;
  const auto add = [&](std::int64_t index, const char* what, std::vector<std::int64_t> shape, StateStore store,
                       std::int64_t offset) {
    out.push_back({prefix + "." + std::to_string(index) + "." + what, std::move(shape), store, offset});
  };
  for (const Layer& L : layers_) {
    add(module, "weight", {L.out, L.in}, params_store, L.w);
    add(module, "bias", {L.out}, params_store, L.b);
    ++module;
    if (L.gamma >= 0) {
      add(module, "weight", {L.out}, params_store, L.gamma);
      add(module, "bias", {L.out}, params_store, L.beta);
      if (with_stats) {
        add(module, "running_mean", {L.out}, StateStore::stats, L.running_mean);
        add(module, "running_var", {L.out}, StateStore::stats, L.running_var);
      }
      ++module;
    }
    if (L.hidden) ++module;  // ReLU: no tensors
  }
}

template <class T>
void BatchedMlp<T>::forward(const MlpWeights<T>& w, const T* x, std::int64_t rows, NormMode mode, MlpTape<T>& tape) const {
  Backend& be = *backend_;
  const std::size_t n_layers = layers_.size();
  tape.rows = rows;
  tape.mode = mode;
  tape.input = x;
  tape.hidden.resize(n_layers);
  tape.linear.resize(n_layers);
  tape.normed.resize(n_layers);
  tape.mean.resize(n_layers);
  tape.rstd.resize(n_layers);
  if (mode == NormMode::eval && spec_.batch_norm && w.stats == nullptr) throw Error::internal("BatchedMlp::forward: eval mode needs running statistics");
  for (std::size_t l = 0; l < n_layers; ++l) {
    const Layer& L = layers_[l];
    const T* input = l == 0 ? x : tape.hidden[l].data();
    const std::int64_t n = runs_ * rows * L.out;
    T* lin = ensure(be, tape.linear[l], n);
    models::runs::linear_forward(be, runs_, input, w.params + L.w, w.params + L.b, w.param_stride, lin, rows, L.in, L.out);
    if (!L.hidden) return;
    T* out = ensure(be, tape.hidden[l + 1], n);
    if (L.gamma >= 0 && mode != NormMode::eval) {
      T* mean = ensure(be, tape.mean[l], runs_ * L.out);
      T* rstd = ensure(be, tape.rstd[l], runs_ * L.out);
      const std::int64_t block = norm_block(be);
      launch(be, runs_ * ((L.out + block - 1) / block),
             kernels::RunsBatchNormReluTrain<T>{lin, w.params, out, mean, rstd,
                                                mode == NormMode::train ? w.stats : nullptr, w.param_stride, L.gamma,
                                                L.beta, w.stats_stride, L.running_mean, L.running_var, rows, L.out,
                                                block},
             2);
      continue;
    }
    const T* pre = lin;
    if (L.gamma >= 0) {
      T* normed = ensure(be, tape.normed[l], n);
      launch(be, n,
             kernels::RunsBatchNormEval<T>{lin, w.params, w.stats, normed, w.param_stride, L.gamma, L.beta,
                                           w.stats_stride, L.running_mean, L.running_var, rows, L.out},
             kElementGrain);
      pre = normed;
    }
    launch(be, n, nn::ReluForward<T>{pre, out}, kElementGrain);
  }
}

template <class T>
void BatchedMlp<T>::backward(const MlpWeights<T>& w, MlpTape<T>& tape, const T* dy, T* dx) const {
  Backend& be = *backend_;
  const std::int64_t rows = tape.rows;
  if (w.grads == nullptr) throw Error::internal("BatchedMlp::backward needs gradients");
  if (tape.mode == NormMode::eval && spec_.batch_norm && layers_.size() > 1) {
    throw Error::internal("BatchedMlp::backward through eval-mode batch norm is not used by any trainer");
  }
  std::int64_t widest = 0;
  for (const Layer& L : layers_) widest = std::max(widest, runs_ * rows * std::max(L.in, L.out));
  // grad holds d(this layer's output): dy for the last layer, then the input gradient of the
  // layer above, written over the ReLU gradient it was computed from.
  T* grad = ensure(be, tape.grad, widest);
  T* dpre = ensure(be, tape.dpre, widest);
  T* dlin = ensure(be, tape.dlin, widest);
  const T* dout = dy;
  for (std::size_t li = layers_.size(); li-- > 0;) {
    const Layer& L = layers_[li];
    const std::int64_t n = runs_ * rows * L.out;
    const T* dlinear = dout;
    bool bias_done = false;
    if (L.hidden && L.gamma >= 0) {
      const std::int64_t block = norm_block(be);
      launch(be, runs_ * ((L.out + block - 1) / block),
             kernels::RunsBatchNormReluBackward<T>{tape.linear[li].data(), tape.hidden[li + 1].data(), w.params, dout,
                                                   tape.mean[li].data(), tape.rstd[li].data(), dlin, w.grads,
                                                   w.param_stride, L.gamma, L.beta, L.b, rows, L.out, block},
             2);
      dlinear = dlin;
      bias_done = true;
    } else if (L.hidden) {
      launch(be, n, nn::ReluBackward<T>{tape.linear[li].data(), dout, dpre}, kElementGrain);
      dlinear = dpre;
    }
    T* dinput = li > 0 ? grad : dx;
    const T* input = li == 0 ? tape.input : tape.hidden[li].data();
    models::runs::linear_backward(be, runs_, input, w.params + L.w, dlinear, dinput, w.grads + L.w,
                                  bias_done ? nullptr : w.grads + L.b, w.param_stride, rows, L.in, L.out);
    dout = grad;
  }
}

template class BatchedMlp<float>;
template class BatchedMlp<double>;

}  // namespace engram::ssl
