#pragma once
// Progress: how a long computation reports how far it got and learns that its caller wants it
// to stop. One type from the front ends (CLI bar, Python callback and Ctrl-C, C API) down to
// the models' loops, so every layer passes the same object on instead of adapting signatures.
//
//   void train(..., const engram::Progress& progress) {
//     for (std::uint64_t step = 0; step < steps; ++step) {
//       progress.check_cancelled();          // throws Error::cancelled when asked to stop
//       ...
//       progress.report(step + 1, steps);    // units of the computation's choosing
//     }
//   }
//   engram::Progress progress([](auto done, auto total) { bar.update(done, total); });
#include <cstdint>
#include <functional>
#include <utility>

#include "engram/engine/error.hpp"

namespace engram {

class Progress {
 public:
  using Report = std::function<void(std::uint64_t done, std::uint64_t total)>;
  using ShouldContinue = std::function<bool()>;

  Progress() = default;
  explicit Progress(Report report, ShouldContinue should_continue = {})
      : report_(std::move(report)), should_continue_(std::move(should_continue)) {}

  void report(std::uint64_t done, std::uint64_t total) const {
    if (report_) report_(done, total);
  }
  bool cancelled() const { return should_continue_ && !should_continue_(); }
  // Throws Error::cancelled when the caller asked to stop.
  void check_cancelled() const {
    if (cancelled()) throw Error::cancelled("stopped at the caller's request");
  }
  // A checkpoint: check_cancelled, then report.
  void step(std::uint64_t done, std::uint64_t total) const {
    check_cancelled();
    report(done, total);
  }

  // The same cancellation with another report (a sub-computation counting its own units, or
  // none: a sweep job must not move the sweep's bar).
  Progress with_report(Report report) const { return Progress(std::move(report), should_continue_); }
  Progress silent() const { return with_report({}); }

 private:
  Report report_;
  ShouldContinue should_continue_;
};

}  // namespace engram
