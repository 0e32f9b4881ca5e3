// CPU twin of nn_kernels.cu: g++ checks the kernel list the CUDA module instantiates.
#include "nn_kernels.inl"
