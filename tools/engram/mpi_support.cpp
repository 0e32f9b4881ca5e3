#include "mpi_support.hpp"

#include <cstdlib>
#include <initializer_list>

#if ENGRAM_HAVE_MPI
#include <mpi.h>
#endif

namespace engram::cli::mpi {

#if ENGRAM_HAVE_MPI
namespace {
bool active = false;

bool launched_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}
}  // namespace
#endif

bool compiled_in() { return ENGRAM_HAVE_MPI != 0; }

void init([[maybe_unused]] int* argc, [[maybe_unused]] char*** argv) {
#if ENGRAM_HAVE_MPI
  if (!launched_by_mpirun()) return;
  MPI_Init(argc, argv);
  active = true;
#endif
}

void finalize() {
#if ENGRAM_HAVE_MPI
  if (active) MPI_Finalize();
  active = false;
#endif
}

World world() {
  World w;
#if ENGRAM_HAVE_MPI
  if (active) {
    MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  }
#endif
  return w;
}

void barrier() {
#if ENGRAM_HAVE_MPI
  if (active) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

void abort(int code) {
#if ENGRAM_HAVE_MPI
  if (active) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

}  // namespace engram::cli::mpi
