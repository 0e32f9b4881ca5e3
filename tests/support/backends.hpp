#pragma once
// Backend fixtures for tests: every backend-parameterised test runs on "cpu" and "cuda"; the
// cuda instance skips with the runtime's reason when no usable device exists.
//
//   class KcapParity : public ::testing::TestWithParam<std::string> {};
//   TEST_P(KcapParity, MatchesReference) {
//     ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
//     ...
//   }
//   INSTANTIATE_TEST_SUITE_P(Backends, KcapParity, ::testing::Values("cpu", "cuda"),
//                            engram::testing::backend_name);
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engram/engine/backend/backend.hpp"

namespace engram::testing {

struct OpenedBackend {
  std::unique_ptr<Backend> backend;
  std::string skip_reason;
};

inline OpenedBackend open_backend(const std::string& name) {
  if (name == "cuda") {
    const CudaReport report = probe_cuda();
    if (!report.usable) return {nullptr, "CUDA backend unavailable: " + report.status};
  }
  return {make_backend(name), ""};
}

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace engram::testing

#define ENGRAM_BACKEND_OR_SKIP(var, name)                                    \
  auto var##_opened = ::engram::testing::open_backend(name);                 \
  if (!var##_opened.backend) GTEST_SKIP() << var##_opened.skip_reason;       \
  ::engram::Backend& var = *var##_opened.backend
