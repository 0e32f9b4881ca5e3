#include "bench_common.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "engram/engine/error.hpp"

namespace engram::bench {

std::string backend_request() {
  const char* env = std::getenv("ENGRAM_BENCH_BACKEND");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("cpu");
}

Backend& backend() {
  static std::unique_ptr<Backend> instance = [] {
    const std::string name = backend_request();
    if (name != "cpu" && name != "cuda" && name != "auto") {
      throw Error::bad_input("ENGRAM_BENCH_BACKEND", name, "must be one of cpu, cuda, auto");
    }
    return make_backend(name);
  }();
  return *instance;
}

double memory_budget_bytes() {
  static const double budget = [] {
    const char* env = std::getenv("ENGRAM_BENCH_MEMORY_GIB");
    if (env == nullptr || *env == '\0') return 8.0 * 1024 * 1024 * 1024;
    char* end = nullptr;
    const double gib = std::strtod(env, &end);
    if (end == env || *end != '\0' || !(gib > 0.0) || !std::isfinite(gib)) {
      throw Error::bad_input("ENGRAM_BENCH_MEMORY_GIB", env, "must be a positive number of GiB");
    }
    return gib * 1024 * 1024 * 1024;
  }();
  return budget;
}

std::string format_gib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return text;
}

bool skip_if_over_budget(benchmark::State& state, double estimate_bytes) {
  if (estimate_bytes <= memory_budget_bytes()) return false;
  const std::string why = "skipped: needs ~" + format_gib(estimate_bytes) + " > budget " +
                          format_gib(memory_budget_bytes()) + " (ENGRAM_BENCH_MEMORY_GIB)";
  state.SkipWithError(why.c_str());
  return true;
}

}  // namespace engram::bench
