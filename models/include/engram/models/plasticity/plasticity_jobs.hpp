#pragma once
// The learned-plasticity experiment kinds (docs/plasticity.md has every YAML key):
//   experiment: plasticity_meta        meta-learn a rule (exact meta-gradient or ES), then apply it
//                                      unchanged to fresh data and to transfer sets, next to the
//                                      closed-form output rule and a gradient-trained network;
//                                      tables metrics, rule, training
//   experiment: plasticity_robustness  the same, then FGSM/PGD accuracy-versus-epsilon curves of
//                                      the rule-trained and gradient-trained networks; tables
//                                      robustness, metrics, rule, training
//
//   const engram::sched::JobKind& kind = engram::plastic::plasticity_meta_kind();
//   engram::sched::Results r = kind.run(config, context);
#include "engram/engine/scheduler/job_kind.hpp"

namespace engram::plastic {

const sched::JobKind& plasticity_meta_kind();
const sched::JobKind& plasticity_robustness_kind();

}  // namespace engram::plastic
