/* C API misuse (docs/reliability.md): stale, double-destroyed, foreign and mistyped handles,
 * NULLs, bad arguments, brains stepped from several threads at once, and engram_run_config into
 * the output folder of another sweep. Every call must return an error status naming the
 * argument, never crash, and leave the other sweep's results as they were.
 *   engram_capi_hostile_calls SWEEP_A.yaml SWEEP_B.yaml WORK_DIR */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engram/engram.h"

static int failures = 0;
static int cases = 0;

/* One hostile call: the status must be `want` and the message must contain `names`. */
static void expect(const char* what, engram_status got, engram_status want, const char* names) {
  ++cases;
  if (got != want) {
    fprintf(stderr, "FAIL %s: status %s, expected %s (%s)\n", what, engram_status_name(got), engram_status_name(want),
            engram_last_error());
    ++failures;
  } else if (names != NULL && strstr(engram_last_error(), names) == NULL) {
    fprintf(stderr, "FAIL %s: message \"%s\" does not name \"%s\"\n", what, engram_last_error(), names);
    ++failures;
  }
}

static const char* kBrain =
    "p: 0.05\nseed: 3\nbrains: 2\nareas: [{name: A, n: 2000, k: 40}]\nstimuli: [{name: s, k: 40}]\n"
    "fibers: [{from: s, to: A, beta: 0.05}, {from: A, to: A, beta: 0.05}]\n";

static void* step_many(void* brain) {
  for (int i = 0; i < 20; ++i) {
    if (engram_brain_project((engram_brain*)brain) != ENGRAM_OK) return (void*)1;
  }
  return NULL;
}

static char* read_all(const char* path) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  const long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char* text = calloc((size_t)size + 1, 1);
  if (text != NULL && fread(text, 1, (size_t)size, f) != (size_t)size) text[0] = '\0';
  fclose(f);
  return text;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s SWEEP_A.yaml SWEEP_B.yaml WORK_DIR\n", argv[0]);
    return 2;
  }
  engram_backend* backend = NULL;
  engram_brain* brain = NULL;
  if (engram_backend_create("cpu", &backend) != ENGRAM_OK || engram_brain_create(backend, kBrain, &brain) != ENGRAM_OK) {
    fprintf(stderr, "setup: %s\n", engram_last_error());
    return 1;
  }
  size_t count = 0;
  uint32_t overlap = 0;
  int local = 42;

  /* Foreign and mistyped pointers are refused before being dereferenced. */
  expect("foreign brain", engram_brain_project((engram_brain*)&local), ENGRAM_BAD_INPUT, "brain");
  expect("foreign brain count", engram_brain_count((const engram_brain*)&local, &count), ENGRAM_BAD_INPUT, "not a live engram_brain");
  expect("backend as brain", engram_brain_project((engram_brain*)backend), ENGRAM_BAD_INPUT, "is an engram_backend");
  expect("brain as backend", engram_brain_create((engram_backend*)brain, kBrain, &brain), ENGRAM_BAD_INPUT, "backend");
  if (brain == NULL) { /* create_brain clears *out first: recreate */
    engram_brain_create(backend, kBrain, &brain);
  }
  expect("wild pointer", engram_brain_overlap((const engram_brain*)(uintptr_t)0x10, 0, "A", &overlap), ENGRAM_BAD_INPUT, "brain");
  /* NULLs and bad arguments. */
  expect("NULL brain", engram_brain_project(NULL), ENGRAM_BAD_INPUT, "brain");
  expect("NULL out", engram_brain_count(brain, NULL), ENGRAM_BAD_INPUT, "out");
  expect("NULL area", engram_brain_overlap(brain, 0, NULL, &overlap), ENGRAM_BAD_INPUT, "area");
  expect("unknown area", engram_brain_overlap(brain, 0, "Nowhere", &overlap), ENGRAM_BAD_INPUT, "Nowhere");
  expect("brain index", engram_brain_overlap(brain, 7, "A", &overlap), ENGRAM_BAD_INPUT, "b = 7");
  expect("bad yaml", engram_brain_create(backend, "areas: [", &brain), ENGRAM_BAD_INPUT, "YAML");
  engram_brain_create(backend, kBrain, &brain);
  expect("duplicate key", engram_brain_create(backend, "p: 0.1\np: 0.2\n", &brain), ENGRAM_BAD_INPUT, "given twice");
  engram_brain_create(backend, kBrain, &brain);
  expect("bad backend name", engram_backend_create("tpu", &backend), ENGRAM_BAD_INPUT, "tpu");
  engram_backend_create("cpu", &backend);
  engram_brain_create(backend, kBrain, &brain);

  /* Four threads step one brain, and a second brain on the same backend steps meanwhile: calls
   * are serialised, so nothing races and every step succeeds. */
  engram_brain* sibling = NULL;
  expect("sibling", engram_brain_create(backend, kBrain, &sibling), ENGRAM_OK, NULL);
  pthread_t threads[5];
  for (int t = 0; t < 5; ++t) pthread_create(&threads[t], NULL, step_many, t < 4 ? (void*)brain : (void*)sibling);
  int thread_failures = 0;
  for (int t = 0; t < 5; ++t) {
    void* result = NULL;
    pthread_join(threads[t], &result);
    thread_failures += result != NULL;
  }
  uint32_t steps = 0;
  ++cases;
  if (thread_failures != 0 || engram_brain_steps(brain, &steps) != ENGRAM_OK || steps != 80) {
    fprintf(stderr, "FAIL threads: %d failed, brain took %u steps (expected 80)\n", thread_failures, steps);
    ++failures;
  }

  /* Use after destroy and double destroy. */
  engram_brain* stale = sibling;
  engram_brain_destroy(sibling);
  expect("use after destroy", engram_brain_project(stale), ENGRAM_BAD_INPUT, "destroyed already");
  engram_brain_destroy(stale); /* a no-op that reports */
  ++cases;
  if (strstr(engram_last_error(), "not a live engram_brain") == NULL) {
    fprintf(stderr, "FAIL double destroy: \"%s\"\n", engram_last_error());
    ++failures;
  }
  engram_brain_destroy(brain);
  engram_backend* stale_backend = backend;
  engram_backend_destroy(backend);
  expect("backend after destroy", engram_brain_create(stale_backend, kBrain, &brain), ENGRAM_BAD_INPUT, "backend");
  engram_backend_destroy(stale_backend);
  ++cases;
  if (engram_backend_name(stale_backend) != NULL) {
    fprintf(stderr, "FAIL stale backend name\n");
    ++failures;
  }

  /* engram_run_config into the folder of another sweep: refused, results untouched. */
  char out[4096];
  snprintf(out, sizeof out, "%s/out", argv[3]);
  char clean[4200];
  snprintf(clean, sizeof clean, "rm -rf '%s'", out); /* a fresh folder for every run of the test */
  if (system(clean) != 0) return 2;
  expect("first sweep", engram_run_config(argv[1], "cpu", out), ENGRAM_OK, NULL);
  char results[4200];
  snprintf(results, sizeof results, "%s/results.csv", out);
  char* before = read_all(results);
  expect("second config", engram_run_config(argv[2], "cpu", out), ENGRAM_BAD_INPUT, "different config");
  expect("second config, shard", engram_run_config_ex(argv[2], "cpu", out, 0, 0, "0/2", 1, 0), ENGRAM_BAD_INPUT,
         "different config");
  expect("bad shard", engram_run_config_ex(argv[1], "cpu", out, 1, 0, "3/2", 1, 0), ENGRAM_BAD_INPUT, "shard");
  expect("zero workers", engram_run_config_ex(argv[1], "cpu", out, 1, 0, NULL, 0, 0), ENGRAM_BAD_INPUT, "workers");
  char* after = read_all(results);
  ++cases;
  if (before == NULL || after == NULL || strcmp(before, after) != 0) {
    fprintf(stderr, "FAIL the first sweep's results.csv changed\n");
    ++failures;
  }
  free(before);
  free(after);
  char under_file[4400];
  snprintf(under_file, sizeof under_file, "%s/out", results); /* a folder under a file */
  expect("out under a file", engram_run_config(argv[1], "cpu", under_file), ENGRAM_BAD_INPUT, "cannot be created");
  expect("config is a device", engram_run_config("/dev/zero", "cpu", out), ENGRAM_BAD_INPUT, "/dev/zero");
  expect("NULL config", engram_run_config(NULL, "cpu", out), ENGRAM_BAD_INPUT, "config_path");

  printf("%d hostile C calls, %d failures\n", cases, failures);
  return failures == 0 ? 0 : 1;
}
