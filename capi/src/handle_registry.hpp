#pragma once
// The C API's live handles. C callers hand back whatever pointer they hold: one already destroyed,
// one of another type, or garbage. Looking a pointer up here, before anything dereferences it,
// turns those into ENGRAM_BAD_INPUT instead of a crash. Each entry records the handle's type, so
// an engram_backend* cast to engram_brain* is refused too. A stale pointer whose address a later
// handle of the same type has reused is indistinguishable from that handle (docs/embedding.md).
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_map>

#include "engram/engine/error.hpp"

namespace engram::capi {

class HandleRegistry {
 public:
  void add(const void* handle, const char* type) {
    const std::lock_guard<std::mutex> lock(mutex_);
    live_[handle] = type;
  }
  // Throws bad_input naming `argument` unless `handle` is a live handle of `type`.
  void check(const void* handle, const char* argument, const char* type) const {
    const std::lock_guard<std::mutex> lock(mutex_);
    refuse_unless_live(handle, argument, type);
  }
  void remove(const void* handle, const char* argument, const char* type) {
    const std::lock_guard<std::mutex> lock(mutex_);
    refuse_unless_live(handle, argument, type);
    live_.erase(handle);
  }

 private:
  void refuse_unless_live(const void* handle, const char* argument, const char* type) const {
    const auto found = live_.find(handle);
    if (found == live_.end()) {
      throw Error::bad_input(argument, address(handle),
                             std::string("is not a live ") + type + " (destroyed already, or never created by engram)");
    }
    if (std::string(found->second) != type) {
      throw Error::bad_input(argument, address(handle), std::string("is an ") + found->second + ", not an " + type);
    }
  }
  static std::string address(const void* handle) {
    char text[32];
    std::snprintf(text, sizeof text, "%p", handle);
    return text;
  }

  mutable std::mutex mutex_;
  std::unordered_map<const void*, const char*> live_;
};

}  // namespace engram::capi
