#pragma once
// The OT experiment kinds (`experiment: sinkhorn`, `experiment: ot_align`), reachable from
// `engram run`, sweeps and Python through the JobKind interface. YAML keys: docs/ot.md.
//
//   const engram::sched::JobKind& kind = engram::ot::sinkhorn_kind();
//   engram::sched::Results r = kind.run(engram::io::load_config_file("examples/ot_sinkhorn.yaml"), {});
#include "engram/engine/scheduler/job_kind.hpp"

namespace engram::ot {

const sched::JobKind& sinkhorn_kind();
const sched::JobKind& ot_align_kind();

}  // namespace engram::ot
