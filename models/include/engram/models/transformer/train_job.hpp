#pragma once
// `experiment: train_transformer`: one training run of the separable transformer as a scheduler
// job (config, data, hyperparameters, seed), optionally followed by transfer to a second
// population. docs/training.md lists the YAML keys; examples/train_transformer.yaml is one.
//
//   const engram::sched::JobKind& kind = engram::models::transformer::train_transformer_kind();
//   auto results = kind.run(engram::io::load_config_file("examples/train_transformer.yaml"), {});
#include "engram/engine/scheduler/job_kind.hpp"

namespace engram::models::transformer {

const sched::JobKind& train_transformer_kind();

}  // namespace engram::models::transformer
