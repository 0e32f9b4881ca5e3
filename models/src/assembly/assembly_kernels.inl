// The Assembly Calculus kernels (implicit graph, input accumulation, noise, Hebbian updates,
// normalisation) that ExactBatch and LazyBatch launch (launch.hpp), listed once for both
// backends: assembly_kernels.cpp (g++) and assembly_kernels.cu (nvcc, into the CUDA module).
#include "engram/engine/backend/device_kernels.hpp"
#include "engram/kernels/graph/accumulate.hpp"
#include "engram/kernels/graph/gnp.hpp"
#include "engram/kernels/graph/input_noise.hpp"
#include "engram/kernels/graph/sparse_edges.hpp"
#include "engram/kernels/plasticity/hebbian.hpp"
#include "engram/kernels/plasticity/normalise.hpp"
#include "engram/kernels/plasticity/sparse_hebbian.hpp"

ENGRAM_DEVICE_KERNEL(engram::graph::GnpRowDegree)
ENGRAM_DEVICE_KERNEL(engram::graph::GnpRowFill)
ENGRAM_DEVICE_KERNEL(engram::graph::AccumulateInputs)
ENGRAM_DEVICE_KERNEL(engram::graph::InputNoise)
ENGRAM_DEVICE_KERNEL(engram::graph::SparseAccumulate)
ENGRAM_DEVICE_KERNEL(engram::plasticity::HebbianScale)
ENGRAM_DEVICE_KERNEL(engram::plasticity::MarkWinners)
ENGRAM_DEVICE_KERNEL(engram::plasticity::IncomingSums)
ENGRAM_DEVICE_KERNEL(engram::plasticity::RescaleIncoming)
ENGRAM_DEVICE_KERNEL(engram::plasticity::SparseHebbian)
