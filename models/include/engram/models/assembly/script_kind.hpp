#pragma once
// The script experiment (`experiment: script`, script_experiment.hpp) as a JobKind: tables
// `metrics` (every metric of every step) and, with trace_winners, `winners`; the summary holds
// each program entry's last value of every metric, averaged over brains.
#include "engram/engine/scheduler/job_kind.hpp"

namespace engram::assembly {

const sched::JobKind& script_kind();

}  // namespace engram::assembly
