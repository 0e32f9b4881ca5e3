/* engram_run_config from C: runs a projection (or sweep) config into a directory.
 *   engram_capi_run_config CONFIG.yaml OUT_DIR */
#include <stdio.h>

#include "engram/engram.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s CONFIG.yaml OUT_DIR\n", argv[0]);
    return 2;
  }
  if (engram_run_config(argv[1], "cpu", argv[2]) != ENGRAM_OK) {
    fprintf(stderr, "engram_run_config: %s\n", engram_last_error());
    return 1;
  }
  if (engram_run_config(argv[1], "no_such_backend", argv[2]) != ENGRAM_BAD_INPUT) {
    fprintf(stderr, "a bad backend name was not refused\n");
    return 1;
  }
  return 0;
}
