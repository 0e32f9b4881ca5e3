// The Assembly Calculus kernels, compiled by nvcc into the CUDA module (libengram_cuda.so).
#include "assembly_kernels.inl"
