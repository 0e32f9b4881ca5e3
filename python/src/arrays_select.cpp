// engram.kcap on arrays: the engine's batched k-cap (models/assembly/kcap_arrays.hpp) on a
// [batch, n] int64 numpy array of fixed-point inputs; the Python wrapper (engram/__init__.py)
// quantises float input to the same fixed point brains use.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "engram/models/assembly/kcap_arrays.hpp"
#include "py_support.hpp"

namespace engram::py {

void register_select(nb::module_& m) {
  using namespace nb::literals;
  using Inputs = nb::ndarray<const std::int64_t, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
  m.def(
      "_kcap",
      [](const Inputs& inputs, std::int64_t k, const std::optional<nb::object>& backend) {
        const auto batch = static_cast<std::int64_t>(inputs.shape(0)), n = static_cast<std::int64_t>(inputs.shape(1));
        const auto be = resolve_backend(backend, "cpu");
        std::vector<NeuronId> winners(static_cast<std::size_t>(batch * (k > 0 ? k : 0)));
        {
          nb::gil_scoped_release release;
          assembly::kcap(*be, inputs.data(), batch, n, k, winners.data());
        }
        return owning_array(std::move(winners), {static_cast<std::size_t>(batch), static_cast<std::size_t>(k)});
      },
      "inputs"_a, "k"_a, "backend"_a = nb::none(), "Batched k-cap on fixed-point rows; see engram.kcap.");
}

}  // namespace engram::py
