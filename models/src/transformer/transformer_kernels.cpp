// CPU twin of transformer_kernels.cu: g++ checks the kernel list the CUDA module instantiates.
#include "transformer_kernels.inl"
