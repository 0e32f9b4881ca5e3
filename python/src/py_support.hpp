#pragma once
// What every part of the Python module shares: the Backend wrapper, backend resolution from
// Python values, numpy arrays that own C++ results, and the GIL-free progress / Ctrl-C hooks.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/error.hpp"
#include "engram/engine/progress.hpp"

namespace engram::py {

namespace nb = nanobind;

// A backend holds workspaces that one call at a time may use, and Brain steps release the GIL;
// so every Brain call holds its backend's mutex (Brains built on one Backend share it). Calls
// from several threads are serialised, never interleaved (docs/python.md, "Threads").
struct PyBackend {
  std::shared_ptr<Backend> backend;
  std::shared_ptr<std::mutex> in_use = std::make_shared<std::mutex>();
  explicit PyBackend(const std::string& name) : backend(make_backend(name)) {}
  std::string name() const { return std::string(backend->name()); }
};

// The mutex of the backend resolve_backend(given, ...) returns: a Backend object's own, else a
// fresh one (a backend made from a name belongs to its caller alone).
inline std::shared_ptr<std::mutex> backend_mutex(const std::optional<nb::object>& given) {
  if (given && nb::isinstance<PyBackend>(*given)) return nb::cast<PyBackend&>(*given).in_use;
  return std::make_shared<std::mutex>();
}

// A backend's mutex, taken without stalling other Python threads: with the GIL held, wait for it
// with the GIL released (the holder may be a GIL-free step on another thread).
class BackendTurn {
 public:
  explicit BackendTurn(std::mutex& in_use) : lock_(in_use, std::try_to_lock) {
    if (lock_.owns_lock()) return;
    if (PyGILState_Check() != 0) {
      nb::gil_scoped_release release;
      lock_.lock();
    } else {
      lock_.lock();
    }
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

inline std::shared_ptr<Backend> resolve_backend(const std::optional<nb::object>& given, const std::string& fallback) {
  if (!given || given->is_none()) return std::shared_ptr<Backend>(make_backend(fallback));
  if (nb::isinstance<PyBackend>(*given)) return nb::cast<PyBackend&>(*given).backend;
  if (nb::isinstance<nb::str>(*given)) return std::shared_ptr<Backend>(make_backend(nb::cast<std::string>(*given)));
  throw Error::bad_input("backend", nb::cast<std::string>(nb::str(given->type())),
                         "must be an engram.Backend or one of cpu, cuda, auto");
}

// A numpy array of the given shape that owns `values` (moved, not copied).
template <class T>
nb::ndarray<nb::numpy, T> owning_array(std::vector<T> values, std::initializer_list<std::size_t> shape) {
  auto* owned = new std::vector<T>(std::move(values));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(owned->data(), shape.size(), shape.begin(), owner);
}

template <class T>
nb::ndarray<nb::numpy, T, nb::ndim<1>> to_numpy(std::vector<T> values) {
  auto* owned = new std::vector<T>(std::move(values));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T, nb::ndim<1>>(owned->data(), {owned->size()}, owner);
}

// Progress and Ctrl-C for engine work that holds no GIL: both callbacks take the GIL briefly. A
// Python exception (KeyboardInterrupt from a signal, or one raised by the progress callback)
// stops the work at the engine's next check and is re-raised once the engine has unwound.
struct PythonHooks {
  nb::object progress;
  std::optional<nb::python_error> pending;

  Progress engine_progress() {
    Progress::Report report;
    if (progress.is_valid() && !progress.is_none()) {
      report = [this](std::uint64_t done, std::uint64_t total) {
        nb::gil_scoped_acquire acquire;
        if (pending) return;
        try {
          progress(done, total);
        } catch (nb::python_error& e) {
          pending.emplace(std::move(e));
        }
      };
    }
    return Progress(std::move(report), [this] {
      nb::gil_scoped_acquire acquire;
      if (pending) return false;
      if (PyErr_CheckSignals() != 0) {
        pending.emplace();
        return false;
      }
      return true;
    });
  }
  // After the engine returned or threw: re-raise what Python asked for.
  void rethrow() {
    if (pending) {
      nb::python_error e = std::move(*pending);
      pending.reset();
      throw e;
    }
  }

  // Runs `body` without the GIL under these hooks; Python's own exception wins over the
  // engine's "cancelled".
  template <class Body>
  void run_released(Body&& body) {
    try {
      nb::gil_scoped_release release;
      body();
    } catch (const Error& e) {
      if (e.code() == ErrorCode::cancelled) rethrow();
      throw;
    }
    rethrow();
  }
};

// The array-API families, each in its own file (arrays_*.cpp).
void register_ot(nb::module_& m);
void register_nn(nb::module_& m);
void register_select(nb::module_& m);
void register_transformer(nb::module_& m);
void register_ssl(nb::module_& m);

}  // namespace engram::py
