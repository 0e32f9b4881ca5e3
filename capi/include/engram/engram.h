/* engram.h: the C API of engram (C11 and C++). Assembly Calculus brains behind opaque
 * handles; every function returns an engram_status and never lets a C++ exception escape.
 * On failure, engram_last_error() holds the engine's message for the calling thread.
 *
 *   engram_backend* backend = NULL;
 *   engram_brain* brain = NULL;
 *   if (engram_backend_create("cpu", &backend) != ENGRAM_OK ||
 *       engram_brain_create(backend, yaml_text, &brain) != ENGRAM_OK) {
 *     fprintf(stderr, "engram: %s\n", engram_last_error());
 *   }
 *   engram_brain_project(brain);
 *   uint32_t overlap = 0;
 *   engram_brain_overlap(brain, 0, "A", &overlap);
 *   engram_brain_destroy(brain);
 *   engram_backend_destroy(backend);
 *
 * Handles are not thread-safe: use one backend (and its brains) per thread. A brain keeps
 * its backend alive, so the two may be destroyed in either order. See docs/embedding.md.
 */
#ifndef ENGRAM_ENGRAM_H
#define ENGRAM_ENGRAM_H

#include <stddef.h>
#include <stdint.h>

/* The ABI this header describes; engram_abi_version() returns the library's. They must be equal. */
#define ENGRAM_ABI_VERSION 1

#if defined(ENGRAM_C_BUILDING) && defined(__GNUC__)
#define ENGRAM_API __attribute__((visibility("default")))
#else
#define ENGRAM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum engram_status {
  ENGRAM_OK = 0,
  ENGRAM_INTERNAL = 1,    /* a bug or an unexpected system failure */
  ENGRAM_BAD_INPUT = 2,   /* a bad argument or config; the message names the field */
  ENGRAM_UNAVAILABLE = 3  /* a requested resource (a backend, a device) is missing */
} engram_status;

typedef struct engram_backend engram_backend;
typedef struct engram_brain engram_brain;

/* Versions. engram_version() is the library's release, e.g. "0.1.0". */
ENGRAM_API uint32_t engram_abi_version(void);
ENGRAM_API const char* engram_version(void);
/* The message of the latest failed call on this thread ("" if none); valid until the next
 * failing call on this thread. Successful calls leave it unchanged. */
ENGRAM_API const char* engram_last_error(void);
/* A short name for a status code ("ok", "bad_input", ...). */
ENGRAM_API const char* engram_status_name(engram_status status);

/* Backends: "cpu", "cuda" or "auto" (cuda when a GPU is usable, else cpu). */
ENGRAM_API engram_status engram_backend_create(const char* name, engram_backend** out);
/* The backend's resolved name ("cpu" or "cuda"); NULL for a NULL handle. */
ENGRAM_API const char* engram_backend_name(const engram_backend* backend);
ENGRAM_API void engram_backend_destroy(engram_backend* backend);

/* Brains: B brains of one spec (B = the `brains` key, default 1), stepped together. `yaml`
 * takes the keys of an `experiment: project` config (mode, p, seed, brains, areas, stimuli,
 * fibers; steps, batch_size and backend are accepted and ignored), so a projection config
 * file's text works as is. Brain i draws its random streams from (seed, i), as in the CLI.
 * engram_brain_create_seeded overrides the config's seed. */
ENGRAM_API engram_status engram_brain_create(engram_backend* backend, const char* yaml, engram_brain** out);
ENGRAM_API engram_status engram_brain_create_seeded(engram_backend* backend, const char* yaml, uint64_t seed,
                                                    engram_brain** out);
ENGRAM_API void engram_brain_destroy(engram_brain* brain);

/* The number of brains B, and the steps taken so far. */
ENGRAM_API engram_status engram_brain_count(const engram_brain* brain, size_t* out);
ENGRAM_API engram_status engram_brain_steps(const engram_brain* brain, uint32_t* out);
/* The areas, by index in the config's order; names stay valid while the brain lives. */
ENGRAM_API engram_status engram_brain_area_count(const engram_brain* brain, size_t* out);
ENGRAM_API engram_status engram_brain_area_name(const engram_brain* brain, size_t index, const char** out);
/* The cap k of an area. */
ENGRAM_API engram_status engram_brain_area_k(const engram_brain* brain, const char* area, uint32_t* out);

/* One synchronous projection step of every brain. */
ENGRAM_API engram_status engram_brain_project(engram_brain* brain);

/* The latest winners of `area` in brain `b` (increasing neuron ids). *count receives their
 * number; when it exceeds `capacity`, nothing is copied and ENGRAM_BAD_INPUT is returned, so
 * a call with capacity 0 asks for the size. `buffer` may be NULL when capacity is 0. */
ENGRAM_API engram_status engram_brain_winners(const engram_brain* brain, size_t b, const char* area,
                                              uint32_t* buffer, size_t capacity, size_t* count);
/* Neurons of `area` in brain `b` that have ever fired. */
ENGRAM_API engram_status engram_brain_support(const engram_brain* brain, size_t b, const char* area,
                                              uint64_t* out);
/* Winners shared by the latest two firing sets of `area` (0 until it has fired twice). */
ENGRAM_API engram_status engram_brain_overlap(const engram_brain* brain, size_t b, const char* area,
                                              uint32_t* out);
/* Whether `area` took part in the latest step (1) or not (0). */
ENGRAM_API engram_status engram_brain_updated(const engram_brain* brain, const char* area, int* out);

/* An inhibited area neither fires nor is updated; an inhibited stimulus does not fire. */
ENGRAM_API engram_status engram_brain_inhibit(engram_brain* brain, const char* area_or_stimulus);
ENGRAM_API engram_status engram_brain_disinhibit(engram_brain* brain, const char* area_or_stimulus);

/* Runs a projection config file (`experiment: project`, with or without a `sweep:` section)
 * and writes its results into `out_dir` (created if missing): projection.csv for a plain
 * projection, results.csv for a sweep, in the CLI's formats. `backend` overrides the
 * config's backend when not NULL. */
ENGRAM_API engram_status engram_run_config(const char* config_path, const char* backend, const char* out_dir);

/* engram_run_config with the sweep controls of `engram run`, through the same scheduler: a
 * sweep's rows are appended (fsync'd) to out_dir/results.csv as its batches finish. `resume`
 * non-zero keeps the rows already in out_dir and runs only the missing jobs (a sweep killed
 * part-way finishes this way); otherwise an out_dir holding this sweep's rows is refused, and
 * rows of another config are refused unless `force` is non-zero. `shard` "i/N" (or NULL) runs
 * every N-th job from i into results.shard-i-of-N.csv; `workers` (>= 1) batches run at once, of
 * at most `max_batch` jobs each (0: 256). engram_run_config(c, b, o) is
 * engram_run_config_ex(c, b, o, 0, 1, NULL, 1, 0). */
ENGRAM_API engram_status engram_run_config_ex(const char* config_path, const char* backend, const char* out_dir,
                                              int resume, int force, const char* shard, uint32_t workers,
                                              uint32_t max_batch);

#ifdef __cplusplus
}
#endif

/* Kernels on caller-owned arrays: Sinkhorn, attention, k-cap. */
#include "engram/engram_arrays.h"

#endif /* ENGRAM_ENGRAM_H */
