#pragma once
// A one-line progress bar on stderr, drawn only when stderr is a terminal so logs and pipes stay
// clean.
#include <chrono>
#include <cstdint>
#include <string>

namespace engram::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string unit);
  ~ProgressBar();
  void update(std::uint64_t done, std::uint64_t total);
  void finish();

 private:
  std::string unit_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace engram::cli
