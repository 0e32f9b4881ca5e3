// The self-supervised trainers' kernels (ssl_kernels.hpp, and the augmentation of reach_runs.hpp),
// listed once for both backends: ssl_kernels.cpp (g++) and ssl_kernels.cu (nvcc, into the CUDA
// module). The kernels/nn functors they launch (ReLU, softplus, VAE and BYOL losses) are listed
// with the other nn functors in models/src/nn/nn_kernels.inl.
#include "engram/engine/backend/device_kernels.hpp"
#include "engram/models/ssl/reach_runs.hpp"
#include "ssl_kernels.hpp"

ENGRAM_DEVICE_KERNEL(engram::ssl::AugmentRows<float>)
ENGRAM_DEVICE_KERNEL(engram::ssl::kernels::RunsBatchNormReluTrain<float>)
ENGRAM_DEVICE_KERNEL(engram::ssl::kernels::RunsBatchNormEval<float>)
ENGRAM_DEVICE_KERNEL(engram::ssl::kernels::RunsBatchNormReluBackward<float>)
ENGRAM_DEVICE_KERNEL(engram::ssl::kernels::CopyColumns<float>)
ENGRAM_DEVICE_KERNEL(engram::ssl::kernels::LatentNoise<float>)
ENGRAM_DEVICE_KERNEL(engram::ssl::kernels::RunsEmaUpdate<float>)
ENGRAM_DEVICE_KERNEL(engram::ssl::kernels::RunsSelectMined<float>)
