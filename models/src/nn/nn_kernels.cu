// The nn kernels, compiled by nvcc into the CUDA module (libengram_cuda.so).
#include "nn_kernels.inl"
