#pragma once
// The sequence, Markov and classification experiments as JobKinds (`experiment: sequence |
// markov | classify`). Single runs give the tables the CLI writes (sequence.csv, markov.csv,
// results.csv); a sweep job is one brain (BrainId{job seed, 0}) and its row summarises it
// (recall, sampling error, accuracy). Jobs of a batch run one after another: these experiments
// drive their brains through data-dependent presentations, so there is no shared step to fuse.
#include "engram/engine/scheduler/job_kind.hpp"

namespace engram::assembly {

const sched::JobKind& sequence_kind();
const sched::JobKind& markov_kind();
const sched::JobKind& classification_kind();

}  // namespace engram::assembly
