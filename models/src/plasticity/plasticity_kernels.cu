// The learned-plasticity kernels, compiled by nvcc into the CUDA module (libengram_cuda.so).
#include "plasticity_kernels.inl"
