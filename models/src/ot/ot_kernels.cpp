// CPU twin of ot_kernels.cu: g++ checks the kernel list the CUDA module instantiates.
#include "ot_kernels.inl"
