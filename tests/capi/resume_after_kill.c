/* A sweep driven through engram_run_config_ex is killed (SIGKILL) part-way, resumed, and must
 * then hold exactly the rows of an uninterrupted run; two shards together hold them too.
 *   engram_capi_resume_after_kill CONFIG.yaml WORK_DIR
 * The killed run is this program re-executed as `--child CONFIG OUT`, so the kill lands in a
 * process that does nothing but engram_run_config_ex. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engram/engram.h"

#define MAX_LINES 4096

typedef struct {
  char* text;
  char* lines[MAX_LINES];
  size_t count;
} lines_t;

static int compare_lines(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

/* The complete lines of a file, sorted (a torn last line is left out). */
static int read_sorted(const char* path, lines_t* out) {
  FILE* f = fopen(path, "rb");
  long size = 0;
  char* at = NULL;
  out->count = 0;
  out->text = NULL;
  if (f == NULL) return 0;
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  fseek(f, 0, SEEK_SET);
  out->text = calloc((size_t)size + 1, 1);
  if (out->text == NULL || fread(out->text, 1, (size_t)size, f) != (size_t)size) {
    fclose(f);
    return 0;
  }
  fclose(f);
  at = out->text;
  while (out->count < MAX_LINES) {
    char* newline = strchr(at, '\n');
    if (newline == NULL) break;
    *newline = '\0';
    out->lines[out->count++] = at;
    at = newline + 1;
  }
  qsort(out->lines, out->count, sizeof out->lines[0], compare_lines);
  return 1;
}

static int same_lines(const lines_t* a, const lines_t* b) {
  size_t i = 0;
  if (a->count != b->count) return 0;
  for (i = 0; i < a->count; ++i) {
    if (strcmp(a->lines[i], b->lines[i]) != 0) return 0;
  }
  return 1;
}

/* A fresh run (force: a previous test's rows are discarded) or a resumed one; one job a batch. */
static int run(const char* config, const char* out, int resume, const char* shard) {
  if (engram_run_config_ex(config, "cpu", out, resume, !resume, shard, 1, 1) != ENGRAM_OK) {
    fprintf(stderr, "engram_run_config_ex(%s, resume=%d, shard=%s): %s\n", out, resume, shard ? shard : "NULL",
            engram_last_error());
    return 0;
  }
  return 1;
}

static void sleep_ms(long ms) {
  struct timespec t;
  t.tv_sec = ms / 1000;
  t.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&t, NULL);
}

/* Lines in a file so far (0 when it does not exist). */
static size_t lines_in(const char* path) {
  size_t n = 0;
  int c = 0;
  FILE* f = fopen(path, "rb");
  if (f == NULL) return 0;
  while ((c = fgetc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

int main(int argc, char** argv) {
  char ref[1024], out[1024], path[2048];
  lines_t expected, got, shard0, shard1;
  int partial = 0, attempt = 0;
  size_t k = 0;
  if (argc == 4 && strcmp(argv[1], "--child") == 0) return run(argv[2], argv[3], 0, NULL) ? 0 : 1;
  if (argc != 3) {
    fprintf(stderr, "usage: %s CONFIG.yaml WORK_DIR\n", argv[0]);
    return 2;
  }
  mkdir(argv[2], 0755);
  snprintf(ref, sizeof ref, "%s/ref", argv[2]);
  if (!run(argv[1], ref, 0, NULL)) return 1;
  snprintf(path, sizeof path, "%s/results.csv", ref);
  if (!read_sorted(path, &expected) || expected.count < 3) {
    fprintf(stderr, "the uninterrupted run wrote no rows\n");
    return 1;
  }

  for (attempt = 0; attempt < 6 && partial == 0; ++attempt) {
    pid_t child = 0;
    int status = 0, waited = 0;
    size_t seen = 0;
    snprintf(out, sizeof out, "%s/killed%d", argv[2], attempt);
    snprintf(path, sizeof path, "%s/results.csv", out);
    remove(path); /* a previous test's rows would look like this run's progress */
    child = fork();
    if (child < 0) return 1;
    if (child == 0) {
      execl(argv[0], argv[0], "--child", argv[1], out, (char*)NULL);
      _exit(127);
    }
    /* Kill once the first rows are on disk, before the last. */
    for (waited = 0; waited < 20000; ++waited) {
      seen = lines_in(path);
      if (seen >= 2 + (size_t)attempt) break;
      if (waitpid(child, &status, WNOHANG) == child) {
        child = 0;
        break;
      }
      sleep_ms(1);
    }
    if (child != 0) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
    }
    seen = lines_in(path);
    if (seen > 1 && seen < expected.count) ++partial;
    if (!run(argv[1], out, 1, NULL)) return 1;
    if (!read_sorted(path, &got) || !same_lines(&expected, &got)) {
      fprintf(stderr, "attempt %d: the resumed rows differ from the uninterrupted run's\n", attempt);
      return 1;
    }
    free(got.text);
  }
  if (partial == 0) {
    fprintf(stderr, "no kill landed part-way through the sweep\n");
    return 1;
  }

  /* Two shards into one directory: together, the rows of the whole sweep. */
  snprintf(out, sizeof out, "%s/shards", argv[2]);
  if (!run(argv[1], out, 0, "0/2") || !run(argv[1], out, 0, "1/2")) return 1;
  snprintf(path, sizeof path, "%s/results.shard-0-of-2.csv", out);
  if (!read_sorted(path, &shard0)) return 1;
  snprintf(path, sizeof path, "%s/results.shard-1-of-2.csv", out);
  if (!read_sorted(path, &shard1)) return 1;
  if (shard0.count + shard1.count != expected.count + 1 || shard0.count < 2 || shard1.count < 2) {
    fprintf(stderr, "the shards hold %zu + %zu lines for %zu\n", shard0.count, shard1.count, expected.count);
    return 1;
  }
  got.count = 0;
  for (k = 0; k < shard0.count; ++k) got.lines[got.count++] = shard0.lines[k];
  for (k = 0; k < shard1.count; ++k) {
    if (strncmp(shard1.lines[k], "id,", 3) != 0) got.lines[got.count++] = shard1.lines[k]; /* one header */
  }
  qsort(got.lines, got.count, sizeof got.lines[0], compare_lines);
  if (!same_lines(&expected, &got)) {
    fprintf(stderr, "the shards' rows differ from the uninterrupted run's\n");
    return 1;
  }
  printf("resumed after %d kill(s) (%d part-way) and merged 2 shards: %zu lines agree\n", attempt, partial,
         expected.count);
  free(expected.text);
  free(shard0.text);
  free(shard1.text);
  return 0;
}
