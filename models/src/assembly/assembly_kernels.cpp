// CPU twin of assembly_kernels.cu: g++ checks the kernel list the CUDA module instantiates.
#include "assembly_kernels.inl"
