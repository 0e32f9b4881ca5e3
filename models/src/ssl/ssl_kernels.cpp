// CPU twin of ssl_kernels.cu: g++ checks the kernel list the CUDA module instantiates.
#include "ssl_kernels.inl"
