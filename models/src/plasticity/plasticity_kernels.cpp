// CPU twin of plasticity_kernels.cu: g++ checks the kernel list the CUDA module instantiates.
#include "plasticity_kernels.inl"
