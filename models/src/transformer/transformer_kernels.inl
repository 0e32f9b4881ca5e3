// The separable transformer's kernels (transformer_kernels.hpp), listed once for both backends:
// transformer_kernels.cpp (g++) and transformer_kernels.cu (nvcc, into the CUDA module).
#include "engram/engine/backend/device_kernels.hpp"
#include "transformer_kernels.hpp"

ENGRAM_DEVICE_KERNEL(engram::models::transformer::kernels::Embed)
ENGRAM_DEVICE_KERNEL(engram::models::transformer::kernels::EmbedGrad)
ENGRAM_DEVICE_KERNEL(engram::models::transformer::kernels::ToPopulation)
ENGRAM_DEVICE_KERNEL(engram::models::transformer::kernels::ToIndividual)
ENGRAM_DEVICE_KERNEL(engram::models::transformer::kernels::NeuronEmbeddingGrad)
ENGRAM_DEVICE_KERNEL(engram::models::transformer::kernels::Pool)
ENGRAM_DEVICE_KERNEL(engram::models::transformer::kernels::PoolBackward)
ENGRAM_DEVICE_KERNEL(engram::models::transformer::kernels::AddInPlace)
ENGRAM_DEVICE_KERNEL(engram::models::transformer::kernels::SequenceOffsets)
