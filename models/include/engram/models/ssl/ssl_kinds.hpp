#pragma once
// `experiment: swap_vae` and `experiment: myow`: self-supervised representation learning on a
// reach recording, evaluated by linear decoding of the reach angle (docs/self_supervised.md).
// A job trains `evaluation.splits` runs (each its own seed and 80/20 trial split) as one batch,
// and with `evaluation.baselines: true` also trains the baselines on the same splits (PCA; the
// plain beta-VAE for swap_vae; BYOL, MYOW without mining, for myow). Tables: accuracy (per
// method and split), curves (per-epoch loss terms), embedding (2-D projection of split 0).
//
//   const engram::sched::JobKind& kind = engram::ssl::myow_kind();
//   auto results = kind.run(engram::io::load_config_file("examples/myow.yaml"), {});
#include "engram/engine/io/config_node.hpp"
#include "engram/engine/scheduler/job_kind.hpp"
#include "engram/models/ssl/myow.hpp"
#include "engram/models/ssl/swap_vae.hpp"

namespace engram::ssl {

const sched::JobKind& swap_vae_kind();
const sched::JobKind& myow_kind();

// The `model:` and `train:` sections of either kind, validated as a job validates them (errors
// name the field, e.g. model.hidden[1]); the Python models (engram.nn.SwapVAE, engram.nn.MYOW)
// read their keyword arguments through these too.
SwapVaeConfig swap_vae_config(const io::ConfigNode& model, const io::ConfigNode& train);
MyowConfig myow_config(const io::ConfigNode& model, const io::ConfigNode& train);

}  // namespace engram::ssl
