// The C API (engram.h) over engram_models. Every entry point catches every exception and maps
// it to a status code, leaving the message in a thread-local buffer.
#include "engram/engram.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/error.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/models/assembly/brain_batch.hpp"
#include "engram/models/assembly/brain_config.hpp"
#include "engram/models/assembly/projection_experiment.hpp"
#include "engram/engine/scheduler/sweep_runner.hpp"
#include "engram/models/job_kinds.hpp"
#include "guarded.hpp"

struct engram_backend {
  std::shared_ptr<engram::Backend> backend;
  std::string name;
};

struct engram_brain {
  std::shared_ptr<engram::Backend> backend;  // outlives the batch
  std::unique_ptr<engram::assembly::BrainBatch> batch;
};

namespace {

using engram::capi::guarded;
using engram::capi::last_error;
using engram::capi::require;

void check_brain_index(const engram_brain* brain, std::size_t b) {
  if (b >= brain->batch->size()) {
    throw engram::Error::bad_input("b", std::to_string(b),
                                   "must be less than the number of brains, " + std::to_string(brain->batch->size()));
  }
}

engram_status create_brain(engram_backend* backend, const char* yaml, const std::uint64_t* seed,
                           engram_brain** out) {
  return guarded([&] {
    require(out, "out");
    *out = nullptr;
    require(backend, "backend");
    require(yaml, "yaml");
    const engram::io::ConfigNode root = engram::io::load_config_string(yaml, "yaml");
    root.allow_keys({"experiment", "backend", "mode", "p", "steps", "seed", "brains", "batch_size", "areas",
                     "stimuli", "fibers"});
    const std::string kind = root.optional<std::string>("experiment", "project");
    if (kind != "project") throw engram::Error::bad_input("experiment", kind, "must be project");
    engram::assembly::BrainSection section = engram::assembly::parse_brain_section(root);
    section.brain.validate();
    const std::uint64_t run_seed = seed != nullptr ? *seed : section.seed;
    std::vector<engram::assembly::BrainId> ids;
    for (std::uint32_t i = 0; i < section.brains; ++i) ids.push_back({run_seed, i});
    auto brain = std::make_unique<engram_brain>();
    brain->backend = backend->backend;
    brain->batch = engram::assembly::make_batch(*brain->backend, section.brain, std::move(ids));
    *out = brain.release();
  });
}

}  // namespace

namespace engram::capi {

Backend& backend_of(engram_backend* backend, const char* argument) {
  require(backend, argument);
  return *backend->backend;
}

}  // namespace engram::capi

extern "C" {

uint32_t engram_abi_version(void) { return ENGRAM_ABI_VERSION; }

const char* engram_version(void) { return ENGRAM_VERSION; }

const char* engram_last_error(void) { return last_error.c_str(); }

const char* engram_status_name(engram_status status) {
  switch (status) {
    case ENGRAM_OK: return "ok";
    case ENGRAM_INTERNAL: return "internal";
    case ENGRAM_BAD_INPUT: return "bad_input";
    case ENGRAM_UNAVAILABLE: return "unavailable";
  }
  return "unknown";
}

engram_status engram_backend_create(const char* name, engram_backend** out) {
  return guarded([&] {
    require(out, "out");
    *out = nullptr;
    require(name, "name");
    auto handle = std::make_unique<engram_backend>();
    handle->backend = engram::make_backend(name);
    handle->name = std::string(handle->backend->name());
    *out = handle.release();
  });
}

const char* engram_backend_name(const engram_backend* backend) {
  return backend != nullptr ? backend->name.c_str() : nullptr;
}

void engram_backend_destroy(engram_backend* backend) { delete backend; }

engram_status engram_brain_create(engram_backend* backend, const char* yaml, engram_brain** out) {
  return create_brain(backend, yaml, nullptr, out);
}

engram_status engram_brain_create_seeded(engram_backend* backend, const char* yaml, uint64_t seed,
                                         engram_brain** out) {
  return create_brain(backend, yaml, &seed, out);
}

void engram_brain_destroy(engram_brain* brain) {
  try {
    delete brain;
  } catch (...) {
    // Destructors do not throw; nothing to report from a void function.
  }
}

engram_status engram_brain_count(const engram_brain* brain, size_t* out) {
  return guarded([&] {
    require(brain, "brain");
    require(out, "out");
    *out = brain->batch->size();
  });
}

engram_status engram_brain_steps(const engram_brain* brain, uint32_t* out) {
  return guarded([&] {
    require(brain, "brain");
    require(out, "out");
    *out = static_cast<uint32_t>(brain->batch->steps_taken());
  });
}

engram_status engram_brain_area_count(const engram_brain* brain, size_t* out) {
  return guarded([&] {
    require(brain, "brain");
    require(out, "out");
    *out = brain->batch->spec().areas.size();
  });
}

engram_status engram_brain_area_name(const engram_brain* brain, size_t index, const char** out) {
  return guarded([&] {
    require(brain, "brain");
    require(out, "out");
    const auto& areas = brain->batch->spec().areas;
    if (index >= areas.size()) {
      throw engram::Error::bad_input("index", std::to_string(index),
                                     "must be less than the number of areas, " + std::to_string(areas.size()));
    }
    *out = areas[index].name.c_str();
  });
}

engram_status engram_brain_area_k(const engram_brain* brain, const char* area, uint32_t* out) {
  return guarded([&] {
    require(brain, "brain");
    require(area, "area");
    require(out, "out");
    const auto& spec = brain->batch->spec();
    const int index = spec.area_index(area);
    if (index < 0) throw engram::Error::bad_input("area", area, "names no area of this brain");
    *out = spec.areas[static_cast<std::size_t>(index)].k;
  });
}

engram_status engram_brain_project(engram_brain* brain) {
  return guarded([&] {
    require(brain, "brain");
    brain->batch->project();
  });
}

engram_status engram_brain_winners(const engram_brain* brain, size_t b, const char* area, uint32_t* buffer,
                                   size_t capacity, size_t* count) {
  return guarded([&] {
    require(brain, "brain");
    require(area, "area");
    require(count, "count");
    check_brain_index(brain, b);
    const std::vector<engram::NeuronId> winners = brain->batch->winners(b, area);
    *count = winners.size();
    if (winners.size() > capacity) {
      throw engram::Error::bad_input("capacity", std::to_string(capacity),
                                     "must be at least the number of winners, " + std::to_string(winners.size()));
    }
    if (!winners.empty()) {
      require(buffer, "buffer");
      std::memcpy(buffer, winners.data(), winners.size() * sizeof(uint32_t));
    }
  });
}

engram_status engram_brain_support(const engram_brain* brain, size_t b, const char* area, uint64_t* out) {
  return guarded([&] {
    require(brain, "brain");
    require(area, "area");
    require(out, "out");
    check_brain_index(brain, b);
    *out = brain->batch->support(b, area);
  });
}

engram_status engram_brain_overlap(const engram_brain* brain, size_t b, const char* area, uint32_t* out) {
  return guarded([&] {
    require(brain, "brain");
    require(area, "area");
    require(out, "out");
    check_brain_index(brain, b);
    *out = brain->batch->overlap(b, area);
  });
}

engram_status engram_brain_updated(const engram_brain* brain, const char* area, int* out) {
  return guarded([&] {
    require(brain, "brain");
    require(area, "area");
    require(out, "out");
    if (brain->batch->spec().area_index(area) < 0) {
      throw engram::Error::bad_input("area", area, "names no area of this brain");
    }
    *out = brain->batch->updated(area) ? 1 : 0;
  });
}

engram_status engram_brain_inhibit(engram_brain* brain, const char* area_or_stimulus) {
  return guarded([&] {
    require(brain, "brain");
    require(area_or_stimulus, "area_or_stimulus");
    brain->batch->inhibit(area_or_stimulus);
  });
}

engram_status engram_brain_disinhibit(engram_brain* brain, const char* area_or_stimulus) {
  return guarded([&] {
    require(brain, "brain");
    require(area_or_stimulus, "area_or_stimulus");
    brain->batch->disinhibit(area_or_stimulus);
  });
}

engram_status engram_run_config(const char* config_path, const char* backend, const char* out_dir) {
  return engram_run_config_ex(config_path, backend, out_dir, 0, 1, nullptr, 1, 0);
}

engram_status engram_run_config_ex(const char* config_path, const char* backend, const char* out_dir, int resume,
                                   int force, const char* shard, uint32_t workers, uint32_t max_batch) {
  return guarded([&] {
    require(config_path, "config_path");
    require(out_dir, "out_dir");
    const engram::io::ConfigNode root = engram::io::load_config_file(config_path);
    engram::sched::RunOptions options;
    if (backend != nullptr) options.backend = backend;
    options.out = out_dir;
    options.resume = resume != 0;
    // A plain run's tables are always replaced; force speaks only of a sweep's rows.
    options.force = force != 0 && engram::sched::is_sweep(root);
    if (shard != nullptr) options.shard = engram::sched::parse_shard(shard, "shard");
    if (workers == 0) throw engram::Error::bad_input("workers", "0", "must be at least 1");
    options.pack.workers = workers;
    if (max_batch != 0) options.pack.max_batch = max_batch;
    options.return_rows = false;
    options.config_file = config_path;
    options.option_prefix = "";
    engram::sched::run_config(root, engram::models::job_kind(root), options, engram::Progress());
  });
}

}  // extern "C"
