// The Sinkhorn kernels, compiled by nvcc into the CUDA module (libengram_cuda.so).
#include "ot_kernels.inl"
