#pragma once
// Loading libengram_cuda.so on demand (cuda_module.cpp).
#include <string>

#include "cuda_module_api.hpp"

namespace engram::detail {

// The loaded module, or null when it cannot be loaded (cuda_module_error() says why). The first
// call tries, in order: $ENGRAM_CUDA_MODULE (a file path), libengram_cuda.so next to the image
// holding this code (the engram CLI, _engram*.so, libengram_c.so), ../lib/ from there (an
// installed tree), and the build tree's copy.
const CudaModuleApi* cuda_module();
std::string cuda_module_error();

}  // namespace engram::detail
