// The batched Sinkhorn kernels (kernels/ot/sinkhorn.hpp) that solve_batch launches (launch.hpp),
// listed once for both backends: ot_kernels.cpp (g++) and ot_kernels.cu (nvcc, into the CUDA
// module). Every (scalar, cost policy) pair with_cost can pick is listed.
#include "engram/engine/backend/device_kernels.hpp"
#include "engram/kernels/ot/sinkhorn.hpp"

namespace engram::ot::listed {
template <class T>
using SqEuclideanCost = OnlineCost<T, SqEuclidean<T>>;
template <class T>
using PNormCost = OnlineCost<T, PNorm<T>>;
}  // namespace engram::ot::listed

#define ENGRAM_SINKHORN_COST_KERNELS(T, Cost)                     \
  ENGRAM_DEVICE_KERNEL(engram::ot::SinkhornHalfStep<T, Cost, false>) \
  ENGRAM_DEVICE_KERNEL(engram::ot::SinkhornHalfStep<T, Cost, true>)  \
  ENGRAM_DEVICE_KERNEL(engram::ot::SinkhornRows<T, Cost>)
#define ENGRAM_SINKHORN_KERNELS(T)                                           \
  ENGRAM_SINKHORN_COST_KERNELS(T, engram::ot::StoredCost<T>)                 \
  ENGRAM_SINKHORN_COST_KERNELS(T, engram::ot::listed::SqEuclideanCost<T>)    \
  ENGRAM_SINKHORN_COST_KERNELS(T, engram::ot::listed::PNormCost<T>)          \
  ENGRAM_DEVICE_KERNEL(engram::ot::SinkhornCheck<T>)                         \
  ENGRAM_DEVICE_KERNEL(engram::ot::SinkhornCommit<T>)                        \
  ENGRAM_DEVICE_KERNEL(engram::ot::SinkhornTotals<T>)

ENGRAM_SINKHORN_KERNELS(float)
ENGRAM_SINKHORN_KERNELS(double)

#undef ENGRAM_SINKHORN_KERNELS
#undef ENGRAM_SINKHORN_COST_KERNELS
