#include "engram/models/nn/training_runs.hpp"

#include <algorithm>

#include "engram/engine/backend/launch.hpp"
#include "engram/engine/error.hpp"
#include "engram/kernels/nn/clip.hpp"

namespace engram::models::runs {

template <class T>
BasicTrainingRuns<T>::BasicTrainingRuns(Backend& backend, std::int64_t runs, std::int64_t params)
    : backend_(&backend), runs_(runs), params_(params), stride_(padded(params)) {
  if (runs <= 0) throw Error::bad_input("runs", std::to_string(runs), "must be at least 1");
  const auto n = static_cast<std::size_t>(runs * stride_);
  for (Buffer<T>* b : {&values_, &grads_, &m_, &v_}) {
    *b = Buffer<T>(backend, n);
    b->zero();
  }
  lr_ = Buffer<double>(backend, static_cast<std::size_t>(runs));
  norms_ = Buffer<double>(backend, static_cast<std::size_t>(runs));
  seeds_ = Buffer<std::uint64_t>(backend, static_cast<std::size_t>(runs));
  set_learning_rates(std::vector<double>(static_cast<std::size_t>(runs), 1e-3));
  set_seeds(std::vector<std::uint64_t>(static_cast<std::size_t>(runs), 0));
}

template <class T>
void BasicTrainingRuns<T>::set_learning_rates(const std::vector<double>& lr) {
  if (static_cast<std::int64_t>(lr.size()) != runs_) {
    throw Error::bad_input("learning rates", std::to_string(lr.size()) + " values", "must be one per run (" + std::to_string(runs_) + ")");
  }
  for (double v : lr) {
    if (!(v > 0)) throw Error::bad_input("train.lr", to_text(v), "must be > 0");
  }
  lr_.upload(lr);
}

template <class T>
void BasicTrainingRuns<T>::set_seeds(const std::vector<std::uint64_t>& seeds) {
  if (static_cast<std::int64_t>(seeds.size()) != runs_) {
    throw Error::bad_input("seeds", std::to_string(seeds.size()) + " values", "must be one per run (" + std::to_string(runs_) + ")");
  }
  host_seeds_ = seeds;
  seeds_.upload(seeds);
}

template <class T>
void BasicTrainingRuns<T>::upload_run(std::int64_t run, const std::vector<T>& values) {
  if (run < 0 || run >= runs_ || static_cast<std::int64_t>(values.size()) != params_) {
    throw Error::internal("upload_run: run " + std::to_string(run) + " with " + std::to_string(values.size()) +
                          " values (expected " + std::to_string(params_) + ")");
  }
  backend_->copy_from_host(values_.data() + run * stride_, values.data(), values.size() * sizeof(T));
}

template <class T>
std::vector<T> BasicTrainingRuns<T>::run_values(std::int64_t run) const {
  std::vector<T> out(static_cast<std::size_t>(params_));
  backend_->copy_to_host(out.data(), values_.data() + run * stride_, out.size() * sizeof(T));
  return out;
}

template <class T>
std::vector<T> BasicTrainingRuns<T>::run_grads(std::int64_t run) const {
  std::vector<T> out(static_cast<std::size_t>(params_));
  backend_->copy_to_host(out.data(), grads_.data() + run * stride_, out.size() * sizeof(T));
  return out;
}

template <class T>
void BasicTrainingRuns<T>::clip_grad_norm(Span span, double max_norm) {
  if (max_norm <= 0 || span.count == 0) return;
  const std::int64_t chunks = (span.count + nn::kNormChunk - 1) / nn::kNormChunk;
  if (static_cast<std::int64_t>(partial_norms_.size()) < runs_ * chunks) {
    partial_norms_ = Buffer<double>(*backend_, static_cast<std::size_t>(runs_ * chunks));
  }
  launch(*backend_, runs_ * chunks,
         nn::RunSquaredNorm<T>{grads_.data(), partial_norms_.data(), span.offset, span.count, stride_, chunks});
  launch(*backend_, runs_, nn::RunNormTotal<T>{partial_norms_.data(), norms_.data(), chunks});
  launch(*backend_, runs_ * span.count,
         nn::RunClipScale<T>{grads_.data(), norms_.data(), span.offset, span.count, stride_, max_norm}, 4096);
}

template <class T>
void BasicTrainingRuns<T>::adamw_step(Span span, const nn::AdamWConfig& config) {
  ++step_;
  launch(*backend_, runs_ * span.count,
         nn::RunAdamW<T>{values_.data(), grads_.data(), m_.data(), v_.data(), lr_.data(), span.offset, span.count,
                             stride_, nn::adam_step_scales(config, step_), config},
         4096);
}

template <class T>
void BasicTrainingRuns<T>::set_lars_tensors(const std::vector<LarsTensor>& tensors) {
  std::vector<std::int64_t> offsets, counts;
  std::vector<std::uint8_t> adapt;
  std::vector<std::int32_t> tensor_of(static_cast<std::size_t>(params_), -1);
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    const LarsTensor& x = tensors[t];
    if (x.offset < 0 || x.count <= 0 || x.offset + x.count > params_) {
      throw Error::internal("set_lars_tensors: tensor " + std::to_string(t) + " [" + std::to_string(x.offset) + ", +" +
                            std::to_string(x.count) + ") outside the " + std::to_string(params_) + " parameters");
    }
    for (std::int64_t i = x.offset; i < x.offset + x.count; ++i) {
      if (tensor_of[static_cast<std::size_t>(i)] >= 0) throw Error::internal("set_lars_tensors: tensors overlap at value " + std::to_string(i));
      tensor_of[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(t);
    }
    offsets.push_back(x.offset);
    counts.push_back(x.count);
    adapt.push_back(x.adapt ? 1 : 0);
  }
  lars_tensors_ = static_cast<std::int64_t>(tensors.size());
  if (lars_tensors_ == 0) return;
  lars_offsets_ = Buffer<std::int64_t>(*backend_, offsets);
  lars_counts_ = Buffer<std::int64_t>(*backend_, counts);
  lars_adapt_ = Buffer<std::uint8_t>(*backend_, adapt);
  lars_tensor_of_ = Buffer<std::int32_t>(*backend_, tensor_of);
  lars_rates_ = Buffer<double>(*backend_, static_cast<std::size_t>(runs_ * lars_tensors_));
}

template <class T>
void BasicTrainingRuns<T>::lars_step(const nn::LarsConfig& config) {
  if (lars_tensors_ == 0) throw Error::internal("lars_step before set_lars_tensors");
  ++step_;
  launch(*backend_, runs_ * lars_tensors_,
         nn::RunLarsRates<T>{values_.data(), grads_.data(), lars_offsets_.data(), lars_counts_.data(), lars_adapt_.data(),
                             lr_.data(), lars_rates_.data(), lars_tensors_, stride_, config});
  launch(*backend_, runs_ * params_,
         nn::RunLarsUpdate<T>{values_.data(), grads_.data(), m_.data(), lars_tensor_of_.data(), lars_adapt_.data(),
                              lars_rates_.data(), params_, stride_, lars_tensors_, config},
         4096);
}

template <class T>
void BasicTrainingRuns<T>::reset_optimizer() {
  m_.zero();
  v_.zero();
  step_ = 0;
}

template <class T>
void BasicTrainingRuns<T>::resize(std::int64_t params, std::int64_t keep) {
  const std::int64_t stride = padded(params);
  Buffer<T> values(*backend_, static_cast<std::size_t>(runs_ * stride));
  values.zero();
  keep = std::min({keep, params, params_});
  for (std::int64_t r = 0; r < runs_; ++r) {
    backend_->copy_within(values.data() + r * stride, values_.data() + r * stride_, static_cast<std::size_t>(keep) * sizeof(T));
  }
  values_ = std::move(values);
  params_ = params;
  stride_ = stride;
  for (Buffer<T>* b : {&grads_, &m_, &v_}) {
    *b = Buffer<T>(*backend_, static_cast<std::size_t>(runs_ * stride_));
    b->zero();
  }
  step_ = 0;
  lars_tensors_ = 0;  // the layout changed: the trainer lists its tensors again
}

template class BasicTrainingRuns<float>;
template class BasicTrainingRuns<double>;

}  // namespace engram::models::runs
