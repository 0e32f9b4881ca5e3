#include "engram/models/job_kinds.hpp"

#include <algorithm>

#include "engram/engine/error.hpp"
#include "engram/models/assembly/assembly_kinds.hpp"
#include "engram/models/assembly/projection_kind.hpp"
#include "engram/models/assembly/script_kind.hpp"
#include "engram/models/plasticity/plasticity_jobs.hpp"
#include "engram/models/transformer/train_job.hpp"
#include "engram/models/ot/ot_kinds.hpp"
#include "engram/models/ssl/ssl_kinds.hpp"

namespace engram::models {

// Each model contributes one accessor returning its kind (a function-local static). Add new
// kinds anywhere: the list is sorted by experiment name once, so `engram.experiments()` and the
// unknown-experiment message list them alphabetically.

const std::vector<const sched::JobKind*>& job_kinds() {
  static const std::vector<const sched::JobKind*> kinds = [] {
    std::vector<const sched::JobKind*> all = {
        &assembly::classification_kind(),
        &assembly::markov_kind(),
        &assembly::projection_kind(),
        &assembly::script_kind(),
        &assembly::sequence_kind(),
        &plastic::plasticity_meta_kind(),
        &plastic::plasticity_robustness_kind(),
        &transformer::train_transformer_kind(),
        &ot::ot_align_kind(),
        &ot::sinkhorn_kind(),
        &ssl::myow_kind(),
        &ssl::swap_vae_kind(),
    };
    std::sort(all.begin(), all.end(), [](const sched::JobKind* a, const sched::JobKind* b) { return a->name() < b->name(); });
    return all;
  }();
  return kinds;
}

const sched::JobKind* find_job_kind(std::string_view experiment) {
  for (const sched::JobKind* kind : job_kinds()) {
    if (kind->name() == experiment) return kind;
  }
  return nullptr;
}

const sched::JobKind& job_kind(const io::ConfigNode& root) {
  const std::string experiment = root.optional<std::string>("experiment", "project");
  if (const sched::JobKind* kind = find_job_kind(experiment)) return *kind;
  std::string known;
  for (const sched::JobKind* kind : job_kinds()) known += (known.empty() ? "" : ", ") + std::string(kind->name());
  throw Error::bad_input(root.field("experiment"), experiment, "unknown experiment; known: " + known);
}

}  // namespace engram::models
