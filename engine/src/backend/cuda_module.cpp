// The CUDA backend lives in its own module so that CPU runs and `import engram` never map the
// CUDA runtime or cuBLAS (about 200 MiB and 50 ms at start-up); it is opened the first time
// something asks for CUDA (probe_cuda, make_backend("cuda"|"auto"), a CUDA launch).
#include "cuda_module.hpp"

#include <cxxabi.h>
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engram/engine/error.hpp"

namespace engram::detail {

namespace {

constexpr const char* kModuleFile = "libengram_cuda.so";

struct LoadedModule {
  const CudaModuleApi* api = nullptr;
  std::string error;
  std::unordered_map<std::string, DeviceLaunchFn> kernels;
};

std::vector<std::string> candidate_paths() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("ENGRAM_CUDA_MODULE"); env != nullptr && *env != '\0') {
    paths.emplace_back(env);
    return paths;  // an explicit choice is not second-guessed
  }
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&candidate_paths), &info) != 0 && info.dli_fname != nullptr) {
    const std::filesystem::path image = std::filesystem::path(info.dli_fname);
    paths.push_back((image.parent_path() / kModuleFile).string());
    paths.push_back((image.parent_path() / ".." / "lib" / kModuleFile).string());
  }
#ifdef ENGRAM_CUDA_MODULE_BUILD_PATH
  paths.emplace_back(ENGRAM_CUDA_MODULE_BUILD_PATH);
#endif
  return paths;
}

LoadedModule load() {
  LoadedModule m;
  std::string tried;
  for (const std::string& path : candidate_paths()) {
    if (!std::filesystem::exists(path)) {
      tried += "\n  " + path + ": no such file";
      continue;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      tried += "\n  " + path + ": " + (why != nullptr ? why : "dlopen failed");
      continue;
    }
    auto entry = reinterpret_cast<engram_cuda_module_fn>(dlsym(handle, "engram_cuda_module"));
    const CudaModuleApi* api = entry != nullptr ? entry() : nullptr;
    if (api == nullptr || api->version != kCudaModuleVersion) {
      tried += "\n  " + path + ": not an engram CUDA module of this version (rebuild it with this engram)";
      dlclose(handle);
      continue;
    }
    m.api = api;  // kept open for the life of the process
    std::size_t count = 0;
    const DeviceKernelEntry* table = api->kernels(&count);
    for (std::size_t i = 0; i < count; ++i) m.kernels.emplace(table[i].type_name, table[i].launcher);
    return m;
  }
  m.error = std::string("the CUDA module ") + kModuleFile +
            " could not be loaded (set ENGRAM_CUDA_MODULE to its path); tried:" + tried;
  return m;
}

const LoadedModule& module() {
  static const LoadedModule loaded = load();
  return loaded;
}

std::string readable(const char* type_name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type_name, nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(type_name);
}

}  // namespace

const CudaModuleApi* cuda_module() { return module().api; }
std::string cuda_module_error() { return module().error; }

DeviceLaunchFn device_launcher(const char* type_name) {
  const LoadedModule& m = module();
  if (m.api == nullptr) throw Error::unavailable(m.error);
  const auto it = m.kernels.find(type_name);
  if (it == m.kernels.end()) {
    throw Error::internal("kernel " + readable(type_name) +
                          " has no CUDA instantiation: list it with ENGRAM_DEVICE_KERNEL in its model's *_kernels.inl");
  }
  return it->second;
}

}  // namespace engram::detail
