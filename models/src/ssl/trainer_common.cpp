#include "engram/models/ssl/trainer_common.hpp"

#include <cmath>
#include <numbers>
#include <type_traits>

#include "engram/engine/backend/launch.hpp"
#include "engram/engine/error.hpp"
#include "engram/models/ssl/cpu_augment.hpp"

namespace engram::ssl {

double scheduled_lr(double base, std::int64_t step, std::int64_t warmup_steps, std::int64_t total_steps, bool decay) {
  if (warmup_steps > 0 && step < warmup_steps) return base * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  if (!decay || total_steps <= warmup_steps) return base;
  const double progress = static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);
  return base * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

ReachOnDevice::ReachOnDevice(Backend& backend, const ReachRuns& runs)
    : backend_(&backend),
      neurons_(runs.data().neurons),
      counts_(backend, runs.data().counts),
      means_(backend, runs.means()),
      inv_stds_(backend, runs.inv_stds()),
      seeds_(backend, runs.seeds()) {}

template <class T>
void ReachOnDevice::augment(const std::vector<std::int32_t>& bins, Buffer<std::int32_t>& bins_on_device,
                            std::int64_t rows_per_run, std::uint32_t step, std::uint32_t tag, double max_dropout,
                            double apply, double noise, bool standardise, Buffer<T>& out, const SharedView<T>* second) {
  const std::size_t values = bins.size() * static_cast<std::size_t>(neurons_);
  auto upload = [&](const std::vector<std::int32_t>& ids, Buffer<std::int32_t>& on_device, Buffer<T>& into) {
    if (on_device.size() < ids.size()) on_device = Buffer<std::int32_t>(*backend_, ids.size());
    on_device.upload(ids);
    if (into.size() < values) into = Buffer<T>(*backend_, values);
  };
  upload(bins, bins_on_device, out);
  AugmentRows<T> f{counts_.data(), bins_on_device.data(), means_.data(), inv_stds_.data(), seeds_.data(),
                   out.data(), rows_per_run, neurons_, step, tag, max_dropout, apply, noise, standardise};
  if (second != nullptr) {
    if (second->bins->size() != bins.size()) throw Error::internal("ReachOnDevice::augment: the shared view has another row count");
    upload(*second->bins, *second->bins_on_device, *second->out);
    f.bins_b = second->bins_on_device->data();
    f.out_b = second->out->data();
  }
  if constexpr (std::is_same_v<T, float>) {
    if (backend_->kind() == BackendKind::cpu) {
      cpu_augment_rows(f, static_cast<std::int64_t>(bins.size()));
      return;
    }
  }
  // One row's work is a full pass over the neurons: a few rows already pay for a fork.
  launch(*backend_, static_cast<std::int64_t>(bins.size()), f, 16);
}

template void ReachOnDevice::augment<float>(const std::vector<std::int32_t>&, Buffer<std::int32_t>&, std::int64_t,
                                            std::uint32_t, std::uint32_t, double, double, double, bool, Buffer<float>&,
                                            const SharedView<float>*);
template void ReachOnDevice::augment<double>(const std::vector<std::int32_t>&, Buffer<std::int32_t>&, std::int64_t,
                                             std::uint32_t, std::uint32_t, double, double, double, bool,
                                             Buffer<double>&, const SharedView<double>*);

}  // namespace engram::ssl
