/* engram's C API from an installed package. */
#include <stdint.h>
#include <stdio.h>

#include <engram/engram.h>

int main(void) {
  const char* yaml =
      "p: 0.05\n"
      "areas: [{name: A, n: 2000, k: 40}]\n"
      "stimuli: [{name: s, k: 40}]\n"
      "fibers: [{from: s, to: A, beta: 0.1}, {from: A, to: A, beta: 0.1}]\n";
  engram_backend* backend = NULL;
  engram_brain* brain = NULL;
  uint32_t overlap = 0;
  int step;
  if (engram_abi_version() != ENGRAM_ABI_VERSION) return 1;
  if (engram_backend_create("cpu", &backend) != ENGRAM_OK ||
      engram_brain_create_seeded(backend, yaml, 7, &brain) != ENGRAM_OK) {
    fprintf(stderr, "engram: %s\n", engram_last_error());
    return 1;
  }
  for (step = 0; step < 5; ++step) {
    if (engram_brain_project(brain) != ENGRAM_OK) return 1;
  }
  if (engram_brain_overlap(brain, 0, "A", &overlap) != ENGRAM_OK) return 1;
  printf("engram %s C: overlap %u of k = 40 after 5 steps\n", engram_version(), (unsigned)overlap);
  engram_brain_destroy(brain);
  engram_backend_destroy(backend);
  return overlap > 0 ? 0 : 1;
}
