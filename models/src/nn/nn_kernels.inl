// The kernels/nn and kernels/attention functors that trainers launch (launch.hpp), listed once for both backends:
// nn_kernels.cpp (g++) and nn_kernels.cu (nvcc, into the CUDA module).
#include "engram/engine/backend/device_kernels.hpp"
#include "engram/kernels/attention/flash_attention.hpp"
#include "engram/kernels/nn/activations.hpp"
#include "engram/kernels/nn/adamw.hpp"
#include "engram/kernels/nn/byol.hpp"
#include "engram/kernels/nn/clip.hpp"
#include "engram/kernels/nn/dropout.hpp"
#include "engram/kernels/nn/lars.hpp"
#include "engram/kernels/nn/layer_norm.hpp"
#include "engram/kernels/nn/linear.hpp"
#include "engram/kernels/nn/losses.hpp"
#include "engram/kernels/nn/mining.hpp"
#include "engram/kernels/nn/vae.hpp"

ENGRAM_DEVICE_KERNEL(engram::nn::BiasAdd<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::RunSum<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::BiasGrad<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::LayerNormForward<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::LayerNormBackwardInput<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::LayerNormBackwardParams<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::GeluForward<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::GeluBackward<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::ReluForward<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::ReluBackward<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::SoftplusForward<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::SoftplusBackward<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::RunDropoutForward<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::RunDropoutBackward<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::SoftmaxCrossEntropy<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::MeanSquaredError<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::PoissonNllRate<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::GaussianKl<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::Reparameterize<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::ReparameterizeBackward<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::ByolLoss<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::NormalizeRows<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::RunAdamW<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::RunLarsRates<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::RunLarsUpdate<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::RunSquaredNorm<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::RunNormTotal<float>)
ENGRAM_DEVICE_KERNEL(engram::nn::RunClipScale<float>)
ENGRAM_DEVICE_KERNEL(engram::attention::AttentionForward<float>)
ENGRAM_DEVICE_KERNEL(engram::attention::AttentionBackwardQueryPass<float>)
ENGRAM_DEVICE_KERNEL(engram::attention::AttentionBackwardKeyPass<float>)
