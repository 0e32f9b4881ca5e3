#pragma once
// engram::Error: every failure the engine reports. The message names the offending field and
// value, so a user can fix a config without reading engram's source.
//
//   throw engram::Error::bad_input("areas[0].k", "5000", "must be at most n = 1000");
//   // what(): areas[0].k = 5000: must be at most n = 1000
#include <charconv>
#include <sstream>
#include <type_traits>
#include <stdexcept>
#include <string>

namespace engram {

enum class ErrorCode {
  bad_input = 2,    // the user's config or arguments are wrong; the CLI exits 2
  unavailable = 3,  // a requested resource (a backend, a device) is missing; the CLI exits 2
  internal = 1,     // a bug or an unexpected system failure; the CLI exits 1
  cancelled = 130,  // the caller asked to stop (Ctrl-C, a progress callback); the CLI exits 130
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

  static Error bad_input(const std::string& field, const std::string& value,
                         const std::string& requirement) {
    return Error(ErrorCode::bad_input, field + " = " + value + ": " + requirement);
  }
  static Error unavailable(const std::string& message) {
    return Error(ErrorCode::unavailable, message);
  }
  static Error internal(const std::string& message) { return Error(ErrorCode::internal, message); }
  static Error cancelled(const std::string& message) { return Error(ErrorCode::cancelled, message); }

 private:
  ErrorCode code_;
};

// Formats a value for an error message the way the user wrote it.
// Floating-point values print in their shortest round-trip form (-0.1, not -0.10000000000000001).
template <class T>
std::string to_text(const T& value) {
  if constexpr (std::is_floating_point_v<T>) {
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
  } else {
    std::ostringstream out;
    out << value;
    return out.str();
  }
}

}  // namespace engram
