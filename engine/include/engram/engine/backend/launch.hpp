#pragma once
// launch(backend, n, f): runs f(i) for every i in [0, n) on the backend: an OpenMP loop on the
// CPU, a grid-stride kernel on the CUDA backend's stream. f is any ENGRAM_HD functor (raw
// pointers and sizes only), so a model brings its own kernels and the engine names none of them.
//
//   struct Scale { float* x; float a; ENGRAM_HD void operator()(std::int64_t i) const { x[i] *= a; } };
//   engram::launch(backend, n, Scale{x, 2.0f});
//
// The CPU side is this header. The CUDA side needs the functor compiled by nvcc: a model lists
// its functor types once in models/<model>/src/<x>_kernels.inl with ENGRAM_DEVICE_KERNEL
// (engram/engine/backend/device_kernels.hpp), and includes that .inl from a .cpp (g++ checks the
// list) and a .cu (nvcc instantiates it into the CUDA module). A functor missing from the list
// fails on the CUDA backend with an error that names it. Functors must live in a named namespace
// (not a lambda, not an anonymous namespace): the type's name is what pairs the two compilations.
#include <cstdint>
#include <type_traits>
#include <typeinfo>

#include "engram/engine/backend/backend.hpp"

namespace engram {

// Runs a functor's bytes on a CUDA stream; instantiated by nvcc (device_kernels.hpp).
using DeviceLaunchFn = void (*)(void* stream, std::int64_t n, const void* functor);

namespace detail {
// The CUDA module's launcher for a functor type (its typeid name); throws naming the type when
// the CUDA module is not loaded or the functor was not listed with ENGRAM_DEVICE_KERNEL.
DeviceLaunchFn device_launcher(const char* type_name);
}  // namespace detail

// serial_below: on the CPU, fewer items than this run inline, without an OpenMP fork/join (a
// parallel region costs more than a few thousand cheap element operations). Results never
// depend on it: each f(i) writes only its own outputs.
template <class F>
void launch(Backend& backend, std::int64_t n, const F& f, std::int64_t serial_below = 2) {
  static_assert(std::is_trivially_copyable_v<F>,
                "launch(): a kernel functor holds raw pointers and sizes only, so its bytes can be "
                "copied to a device; replace containers and references with pointers");
  if (n <= 0) return;
  if (backend.kind() == BackendKind::cpu) {
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (n >= serial_below)
#else
    (void)serial_below;
#endif
    for (std::int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  static const DeviceLaunchFn device = detail::device_launcher(typeid(F).name());
  device(backend.native_stream(), n, &f);
}

}  // namespace engram
