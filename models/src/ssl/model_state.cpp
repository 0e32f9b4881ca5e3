#include "engram/models/ssl/model_state.hpp"

#include <string>

#include "engram/engine/error.hpp"
#include "engram/engine/memory/buffer.hpp"

namespace engram::ssl {

template <class T>
std::vector<float> save_row(Backend& backend, const T* rows, std::int64_t stride, std::int64_t r, std::int64_t n) {
  std::vector<T> host(static_cast<std::size_t>(n));
  backend.copy_to_host(host.data(), rows + r * stride, host.size() * sizeof(T));
  return std::vector<float>(host.begin(), host.end());
}

template <class T>
void load_row(Backend& backend, T* rows, std::int64_t stride, std::int64_t r, const std::vector<float>& values,
              std::int64_t n, const char* what) {
  if (static_cast<std::int64_t>(values.size()) != n) {
    throw Error::bad_input(what, std::to_string(values.size()) + " values", "the model has " + std::to_string(n));
  }
  const std::vector<T> host(values.begin(), values.end());
  backend.copy_from_host(rows + r * stride, host.data(), host.size() * sizeof(T));
}

template std::vector<float> save_row<float>(Backend&, const float*, std::int64_t, std::int64_t, std::int64_t);
template std::vector<float> save_row<double>(Backend&, const double*, std::int64_t, std::int64_t, std::int64_t);
template void load_row<float>(Backend&, float*, std::int64_t, std::int64_t, const std::vector<float>&, std::int64_t,
                              const char*);
template void load_row<double>(Backend&, double*, std::int64_t, std::int64_t, const std::vector<float>&, std::int64_t,
                               const char*);

std::vector<float> encode_rows(Backend& backend, const MlpSpec& spec, const RunState& state, const float* counts,
                               std::int64_t rows, bool standardise) {
  const std::int64_t neurons = spec.dims.front(), width = spec.dims.back();
  if (rows < 0) throw Error::bad_input("counts.rows", std::to_string(rows), "must be >= 0");
  if (rows == 0) return {};
  std::vector<float> stats_host = state.stats;
  if (stats_host.empty()) stats_host.push_back(0.0f);  // a network without batch norm has none
  const BatchedMlp<float> mlp(backend, spec, 1, 0, 0);
  std::vector<float> x(counts, counts + rows * neurons);
  if (standardise) {
    if (static_cast<std::int64_t>(state.mean.size()) != neurons || static_cast<std::int64_t>(state.inv_std.size()) != neurons) {
      throw Error::bad_input("state.mean", std::to_string(state.mean.size()),
                             "the standardisation needs one mean and one inverse sd per neuron (" + std::to_string(neurons) + ")");
    }
    for (std::int64_t b = 0; b < rows; ++b) {
      for (std::int64_t n = 0; n < neurons; ++n) {
        float& v = x[static_cast<std::size_t>(b * neurons + n)];
        v = (v - state.mean[static_cast<std::size_t>(n)]) * state.inv_std[static_cast<std::size_t>(n)];
      }
    }
  }
  const Buffer<float> params(backend, state.params), input(backend, x);
  Buffer<float> stats(backend, stats_host);
  MlpTape<float> tape;
  const MlpWeights<float> w{params.data(), nullptr, static_cast<std::int64_t>(state.params.size()),
                            stats.data(), static_cast<std::int64_t>(stats_host.size())};
  mlp.forward(w, input.data(), rows, NormMode::eval, tape);
  std::vector<float> out(static_cast<std::size_t>(rows * width));
  backend.copy_to_host(out.data(), tape.output(), out.size() * sizeof(float));
  return out;
}

}  // namespace engram::ssl
