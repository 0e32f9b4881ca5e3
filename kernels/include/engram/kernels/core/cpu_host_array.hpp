#pragma once
// Host arrays for the CPU fast paths' large scratch (Sinkhorn kernels and cost caches): 64-byte
// aligned, and from 2 MiB up backed by transparent huge pages where the kernel offers them
// (Linux, THP mode "madvise" or "always"). A fresh 8 MiB kernel otherwise costs 2048 page faults
// on first touch, a sixth of a 10^3-point solve; numpy asks for huge pages the same way, so
// POT's arrays get them. Host code only. Contents are uninitialised.
//
//   engram::cpu::HostArray<double> kernel = engram::cpu::host_array<double>(n * m);
//   kernel[0] = 1.0;
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace engram::cpu {

struct HostArrayDeleter {
  void operator()(void* p) const noexcept { std::free(p); }
};

template <class T>
using HostArray = std::unique_ptr<T[], HostArrayDeleter>;

inline void* allocate_host(std::size_t bytes) {
  constexpr std::size_t kHugePage = std::size_t{2} << 20;
  const bool huge = bytes >= kHugePage;
  const std::size_t align = huge ? kHugePage : 64;
  const std::size_t rounded = (bytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, rounded == 0 ? align : rounded);
  if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Advice only: without THP support the call fails and the pages stay 4 KiB.
  if (huge) (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return p;
}

template <class T>
HostArray<T> host_array(std::size_t count) {
  return HostArray<T>(static_cast<T*>(allocate_host(count * sizeof(T))));
}

}  // namespace engram::cpu
