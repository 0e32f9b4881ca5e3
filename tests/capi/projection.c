/* Runs a projection through the C API (engram.h) and prints, per step, brain and updated
 * area, the support and overlap as CSV rows "brain,step,area,support,overlap" — the columns
 * of the CLI's projection.csv, which tests/capi/compare.cmake checks them against.
 *
 *   engram_capi_projection CONFIG.yaml STEPS
 *
 * Also checks the API's contracts on the way: winners read into a caller buffer agree with
 * the reported overlap, and bad input comes back as ENGRAM_BAD_INPUT with a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engram/engram.h"

static int failed(const char* what) {
  fprintf(stderr, "projection.c: %s failed: %s\n", what, engram_last_error());
  return 1;
}

static char* read_file(const char* path) {
  FILE* file = fopen(path, "rb");
  char* text = NULL;
  long size = 0;
  if (file == NULL) return NULL;
  if (fseek(file, 0, SEEK_END) == 0 && (size = ftell(file)) >= 0 && fseek(file, 0, SEEK_SET) == 0) {
    text = (char*)malloc((size_t)size + 1);
    if (text != NULL) {
      const size_t got = fread(text, 1, (size_t)size, file);
      text[got] = '\0';
    }
  }
  fclose(file);
  return text;
}

/* Neurons shared by two increasing lists. */
static uint32_t shared(const uint32_t* a, size_t na, const uint32_t* b, size_t nb) {
  size_t i = 0, j = 0;
  uint32_t count = 0;
  while (i < na && j < nb) {
    if (a[i] < b[j]) ++i;
    else if (b[j] < a[i]) ++j;
    else { ++count; ++i; ++j; }
  }
  return count;
}

int main(int argc, char** argv) {
  engram_backend* backend = NULL;
  engram_brain* brain = NULL;
  engram_brain* bad = NULL;
  uint32_t* previous = NULL;
  uint32_t* current = NULL;
  size_t brains = 0, areas = 0, previous_count = 0;
  unsigned long steps = 0;
  int status = 1;
  char* yaml = NULL;

  if (argc != 3) {
    fprintf(stderr, "usage: %s CONFIG.yaml STEPS\n", argv[0]);
    return 2;
  }
  steps = strtoul(argv[2], NULL, 10);
  if (engram_abi_version() != ENGRAM_ABI_VERSION) {
    fprintf(stderr, "ABI %u, header %d\n", (unsigned)engram_abi_version(), ENGRAM_ABI_VERSION);
    return 1;
  }
  yaml = read_file(argv[1]);
  if (yaml == NULL) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  fprintf(stderr, "engram %s (ABI %u)\n", engram_version(), (unsigned)engram_abi_version());

  if (engram_backend_create("cpu", &backend) != ENGRAM_OK) { status = failed("engram_backend_create"); goto done; }
  if (engram_brain_create_seeded(backend, "p: 0.01\nareas: [{name: A, n: 10, k: 50}]\nfibers: [{from: A, to: A, beta: 0.1}]\n", 1, &bad) != ENGRAM_BAD_INPUT ||
      bad != NULL || strstr(engram_last_error(), "areas[0].k") == NULL) {
    fprintf(stderr, "a bad config was not refused with a message naming the field: '%s'\n", engram_last_error());
    goto done;
  }
  if (engram_brain_create(backend, yaml, &brain) != ENGRAM_OK) { status = failed("engram_brain_create"); goto done; }
  if (engram_brain_inhibit(brain, "no_such_area") != ENGRAM_BAD_INPUT) {
    fprintf(stderr, "inhibiting an unknown area was not refused\n");
    goto done;
  }
  if (engram_brain_count(brain, &brains) != ENGRAM_OK) { status = failed("engram_brain_count"); goto done; }
  if (engram_brain_area_count(brain, &areas) != ENGRAM_OK) { status = failed("engram_brain_area_count"); goto done; }

  printf("# brain,step,area,support,overlap\n");
  for (unsigned long step = 1; step <= steps; ++step) {
    if (engram_brain_project(brain) != ENGRAM_OK) { status = failed("engram_brain_project"); goto done; }
    for (size_t b = 0; b < brains; ++b) {
      for (size_t a = 0; a < areas; ++a) {
        const char* area = NULL;
        int updated = 0;
        uint64_t support = 0;
        uint32_t overlap = 0;
        if (engram_brain_area_name(brain, a, &area) != ENGRAM_OK ||
            engram_brain_updated(brain, area, &updated) != ENGRAM_OK) {
          status = failed("engram_brain_area_name/updated");
          goto done;
        }
        if (!updated) continue;
        if (engram_brain_support(brain, b, area, &support) != ENGRAM_OK ||
            engram_brain_overlap(brain, b, area, &overlap) != ENGRAM_OK) {
          status = failed("engram_brain_support/overlap");
          goto done;
        }
        printf("%zu,%lu,%s,%llu,%u\n", b, step, area, (unsigned long long)support, (unsigned)overlap);
        if (b == 0 && a == 0) {
          /* Size query, then a read into a buffer of exactly that size. */
          size_t count = 0;
          if (engram_brain_winners(brain, b, area, NULL, 0, &count) != ENGRAM_BAD_INPUT || count == 0) {
            fprintf(stderr, "winners size query returned count %zu\n", count);
            goto done;
          }
          free(current);
          current = (uint32_t*)malloc(count * sizeof *current);
          if (current == NULL ||
              engram_brain_winners(brain, b, area, current, count, &count) != ENGRAM_OK) {
            status = failed("engram_brain_winners");
            goto done;
          }
          if (previous != NULL && shared(previous, previous_count, current, count) != overlap) {
            fprintf(stderr, "step %lu: winners share %u neurons, overlap says %u\n", step,
                    (unsigned)shared(previous, previous_count, current, count), (unsigned)overlap);
            goto done;
          }
          free(previous);
          previous = current;
          previous_count = count;
          current = NULL;
        }
      }
    }
  }
  status = 0;

done:
  free(previous);
  free(current);
  engram_backend_destroy(backend); /* the brain keeps the backend alive */
  engram_brain_destroy(brain);
  free(yaml);
  return status;
}
