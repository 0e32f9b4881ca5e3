#pragma once
// One trained run of Swap-VAE or MYOW on the host, apart from the data it was trained on: what
// the Python models (engram.nn.SwapVAE, engram.nn.MYOW) keep between calls, save and load, and
// encode new recordings with. The vectors are the run's slices as the trainer lays them out
// (the networks' NamedTensor offsets index into them).
//
//   engram::ssl::RunState s = model.save_run(0);                          // after training
//   auto z = engram::ssl::encode_rows(backend, encoder_spec, s, counts, rows, /*standardise=*/true);
#include <cstdint>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/models/ssl/batched_mlp.hpp"

namespace engram::ssl {

struct RunState {
  std::vector<float> params;   // the run's parameter vector (every online network)
  std::vector<float> stats;    // running batch-norm statistics
  std::vector<float> target;   // MYOW's target networks (same offsets as params); empty otherwise
  std::vector<float> mean, inv_std;  // [neurons] standardisation from the training bins
};

// Eval-mode output of the encoder `spec` (the first network of the run's vectors, at offset 0
// of params and stats) on `rows` bins of counts [rows, neurons]; with standardise, each neuron is
// first standardised by state.mean and state.inv_std. Returns [rows, spec.dims.back()]. Given the
// trainer's recording it gives the trainer's own representation bit for bit; a row's value does
// not depend on the other rows (eval-mode batch norm), but its last bits may depend on the row
// count, which sets the GEMM's blocking.
// Row r ([n] values) of a [R, stride] array in backend memory, as floats on the host, and back;
// load_row checks the length and names `what` when it is wrong.
template <class T>
std::vector<float> save_row(Backend& backend, const T* rows, std::int64_t stride, std::int64_t r, std::int64_t n);
template <class T>
void load_row(Backend& backend, T* rows, std::int64_t stride, std::int64_t r, const std::vector<float>& values,
              std::int64_t n, const char* what);

std::vector<float> encode_rows(Backend& backend, const MlpSpec& spec, const RunState& state, const float* counts,
                               std::int64_t rows, bool standardise);

}  // namespace engram::ssl
