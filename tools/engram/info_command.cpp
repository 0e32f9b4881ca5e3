#include <omp.h>

#include <cstdio>

#include "commands.hpp"
#include "mpi_support.hpp"
#include "engram/engine/backend/backend.hpp"

namespace engram::cli {

int info_command() {
  std::printf("engram %s\n", ENGRAM_VERSION);
  std::printf("backends compiled in:");
  for (const auto& name : compiled_backends()) std::printf(" %s", name.c_str());
  std::printf("\ncpu: %d OpenMP threads\n", omp_get_max_threads());
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
