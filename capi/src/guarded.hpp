#pragma once
// How every C API entry point runs: `guarded` catches every exception and maps it to a status
// code, leaving the message in the calling thread's last_error (engram_last_error()).
#include <exception>
#include <new>
#include <string>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/error.hpp"
#include "engram/engram.h"

namespace engram::capi {

inline thread_local std::string last_error;

inline engram_status fail(engram_status status, const std::string& message) noexcept {
  try {
    last_error = message;
  } catch (...) {
    // Out of memory while recording the message: keep the status.
  }
  return status;
}

// Runs `body`, mapping every exception to a status code.
template <class Body>
engram_status guarded(Body&& body) noexcept {
  try {
    body();
    return ENGRAM_OK;
  } catch (const engram::Error& e) {
    switch (e.code()) {
      case engram::ErrorCode::bad_input: return fail(ENGRAM_BAD_INPUT, e.what());
      case engram::ErrorCode::unavailable: return fail(ENGRAM_UNAVAILABLE, e.what());
      case engram::ErrorCode::internal: break;
      case engram::ErrorCode::cancelled: break;
    }
    return fail(ENGRAM_INTERNAL, e.what());
  } catch (const std::bad_alloc&) {
    return fail(ENGRAM_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(ENGRAM_INTERNAL, e.what());
  } catch (...) {
    return fail(ENGRAM_INTERNAL, "unknown C++ exception");
  }
}

inline void require(const void* pointer, const char* argument) {
  if (pointer == nullptr) throw engram::Error::bad_input(argument, "NULL", "must not be NULL");
}

// The engine backend behind a handle (engram_c.cpp owns the handle types); throws bad_input
// naming `argument` for a NULL handle.
Backend& backend_of(engram_backend* backend, const char* argument);

}  // namespace engram::capi
