#pragma once
// MPI for sweeps (`mpirun -np N engram run SWEEP.yaml --out DIR`): rank r runs shard r/N and rank
// 0 merges the shards at the end. Built in with -DENGRAM_MPI=ON; MPI is initialised only when the
// process was started by an MPI launcher, so a plain `engram run` never touches it.
namespace engram::cli::mpi {

struct World {
  int rank = 0;
  int size = 1;
};

bool compiled_in();
void init(int* argc, char*** argv);  // no-op unless compiled in and launched by mpirun
void finalize();
World world();
void barrier();
[[noreturn]] void abort(int code);

}  // namespace engram::cli::mpi
