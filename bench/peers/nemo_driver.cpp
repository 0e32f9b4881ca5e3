// engram's driver for the Assembly Calculus authors' C++ engine (NEMO, github
// dmitropolsky/assemblies, cpp/brain.h). It is compiled together with the user's checkout of that
// engine by nemo_assembly.py (nothing of the engine is vendored here) and times the rows of the
// side-by-side table: a stimulus of k neurons projected into area A (n neurons, cap k) with the
// recurrence A -> A, edge probability p, Hebbian rate beta.
//
//   nemo_driver N K P BETA WARM TIMED EXPLICIT BRAINS
//
// One brain (BRAINS = 1): WARM steps untimed, then TIMED steps timed; prints the graph build time
// (explicit areas build every edge up front) and the marginal time per step. BRAINS > 1: that
// many brains one after another, each built and stepped WARM + TIMED times; prints the total.
// Output: one JSON object on stdout.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "brain.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: %s N K P BETA WARM TIMED EXPLICIT BRAINS\n", argv[0]);
    return 2;
  }
  const auto n = static_cast<uint32_t>(std::strtoul(argv[1], nullptr, 10));
  const auto k = static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10));
  const float p = std::strtof(argv[3], nullptr);
  const float beta = std::strtof(argv[4], nullptr);
  const auto warm = static_cast<uint32_t>(std::strtoul(argv[5], nullptr, 10));
  const auto timed = static_cast<uint32_t>(std::strtoul(argv[6], nullptr, 10));
  const bool is_explicit = std::strtoul(argv[7], nullptr, 10) != 0;
  const auto brains = static_cast<uint32_t>(std::strtoul(argv[8], nullptr, 10));
  const nemo::ProjectMap graph = {{"stim", {"A"}}, {"A", {"A"}}};
  // The reference's own tests use max_weight 10000; every fiber is plastic at rate beta.
  constexpr float kMaxWeight = 10000.0f;

  if (brains > 1) {
    const auto start = std::chrono::steady_clock::now();
    std::size_t support = 0;
    for (uint32_t b = 0; b < brains; ++b) {
      nemo::Brain brain(p, beta, kMaxWeight, 1000 + b);
      brain.AddStimulus("stim", k);
      brain.AddArea("A", n, k, /*recurrent=*/true, is_explicit);
      brain.AddFiber("stim", "A");
      brain.Project(graph, warm + timed);
      support += brain.GetArea("A").support;
    }
    std::printf("{\"total_s\": %.6f, \"mean_support\": %.1f}\n", seconds_since(start),
                static_cast<double>(support) / brains);
    return 0;
  }
  const auto build_start = std::chrono::steady_clock::now();
  nemo::Brain brain(p, beta, kMaxWeight, 7777);
  brain.AddStimulus("stim", k);
  brain.AddArea("A", n, k, /*recurrent=*/true, is_explicit);
  brain.AddFiber("stim", "A");
  const double build_s = seconds_since(build_start);
  brain.Project(graph, warm);
  const auto step_start = std::chrono::steady_clock::now();
  brain.Project(graph, timed);
  const double step_s = seconds_since(step_start) / timed;
  std::printf("{\"build_s\": %.6f, \"ms_per_step\": %.6f, \"support\": %u}\n", build_s, step_s * 1e3,
              brain.GetArea("A").support);
  return 0;
}
