// engram's C++ API from an installed package: a small brain, a few projection steps.
#include <cstdio>

#include "engram/engine/backend/backend.hpp"
#include "engram/models/assembly/brain_batch.hpp"

int main() {
  auto backend = engram::make_backend("cpu");
  engram::assembly::BrainSpec spec;
  spec.areas = {{"A", 2000, 40}};
  spec.stimuli = {{"s", 40}};
  spec.fibers = {{"s", "A", 0.1}, {"A", "A", 0.1}};
  spec.p = 0.05;
  spec.validate();
  auto batch = engram::assembly::make_batch(*backend, spec, {{7, 0}});
  for (int step = 0; step < 5; ++step) batch->project();
  const auto overlap = batch->overlap(0, "A");
  std::printf("engram %s C++: overlap %u of k = 40 after 5 steps\n", ENGRAM_VERSION, overlap);
  return overlap > 0 ? 0 : 1;
}
