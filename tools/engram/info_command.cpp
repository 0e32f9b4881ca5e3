#include <omp.h>

#include <cstdio>
#include <string>

#include "commands.hpp"
#include "mpi_support.hpp"
#include "engram/engine/backend/backend.hpp"

namespace engram::cli {

namespace {

// The vector extensions the host code was compiled to use (ENGRAM_ARCH): what decides whether
// a binary runs on another machine and how fast its GEMMs are (README, "Built for this machine").
std::string host_isa_features() {
  std::string f;
  const auto add = [&f](const char* name) { f += f.empty() ? name : std::string(", ") + name; };
#ifdef __AVX512F__
  add("AVX-512");
#endif
#ifdef __AVX2__
  add("AVX2");
#endif
#ifdef __FMA__
  add("FMA");
#endif
  return f.empty() ? "SSE2 only" : f;
}

}  // namespace

int info_command() {
  std::printf("engram %s\n", ENGRAM_VERSION);
  std::printf("backends compiled in:");
  for (const auto& name : compiled_backends()) std::printf(" %s", name.c_str());
  std::printf("\ncpu: %d OpenMP threads; host code for -march=%s (%s)\n", omp_get_max_threads(), ENGRAM_HOST_ARCH,
              host_isa_features().c_str());
  std::printf("mpi: %s\n", mpi::compiled_in() ? "compiled in" : "not compiled in (build with -DENGRAM_MPI=ON)");
  const CudaReport cuda = probe_cuda();
  if (cuda.usable) {
    for (std::size_t d = 0; d < cuda.devices.size(); ++d) std::printf("cuda:%zu: %s\n", d, cuda.devices[d].c_str());
  } else {
    std::printf("cuda: no usable device (%s)\n", cuda.status.c_str());
  }
  return 0;
}

}  // namespace engram::cli
