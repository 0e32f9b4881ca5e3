#include "engram/engine/backend/backend.hpp"

#include "cuda_module.hpp"
#include "engram/engine/error.hpp"

namespace engram {

namespace cpu {
std::unique_ptr<Backend> make_cpu_backend();
}

CudaReport probe_cuda() {
#if ENGRAM_HAVE_CUDA
  const detail::CudaModuleApi* module = detail::cuda_module();
  if (module == nullptr) {
    CudaReport report;
    report.compiled = true;
    report.status = detail::cuda_module_error();
    return report;
  }
  return module->probe();
#else
  CudaReport report;
  report.status = "the CUDA backend is not compiled into this build (configured with ENGRAM_CUDA=OFF "
                  "or nvcc was not found)";
  return report;
#endif
}

std::vector<std::string> compiled_backends() {
#if ENGRAM_HAVE_CUDA
  return {"cpu", "cuda"};
#else
  return {"cpu"};
#endif
}

std::unique_ptr<Backend> make_backend(std::string_view name) {
  if (name == "cpu") return cpu::make_cpu_backend();
  if (name == "cuda" || name == "auto") {
    const CudaReport report = probe_cuda();
    if (report.usable) return std::unique_ptr<Backend>(detail::cuda_module()->make_backend());
    if (name == "auto") return cpu::make_cpu_backend();
    throw Error::unavailable("backend = cuda: no usable CUDA device (" + report.status + ")");
  }
  throw Error::bad_input("backend", std::string(name), "must be one of cpu, cuda, auto");
}

}  // namespace engram
