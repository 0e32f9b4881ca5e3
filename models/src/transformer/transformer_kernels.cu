// The separable transformer's kernels, compiled by nvcc into the CUDA module (libengram_cuda.so).
#include "transformer_kernels.inl"
