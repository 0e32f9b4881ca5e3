// The self-supervised trainers' kernels, compiled by nvcc into the CUDA module (libengram_cuda.so).
#include "ssl_kernels.inl"
