#include "engram/models/ssl/trainer_common.hpp"

#include <cmath>
#include <numbers>

namespace engram::ssl {

double scheduled_lr(double base, std::int64_t step, std::int64_t warmup_steps, std::int64_t total_steps, bool decay) {
  if (warmup_steps > 0 && step < warmup_steps) return base * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  if (!decay || total_steps <= warmup_steps) return base;
  const double progress = static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);
  return base * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace engram::ssl
