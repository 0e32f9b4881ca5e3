#pragma once
// The papers' evaluation of a reach representation (Liu et al. 2021, Azabou et al. 2021, and
// their public code): fit a linear map (with bias, least squares) from a bin's representation to
// (cos, sin) of its reach angle on the training bins, predict the test bins' angles with atan2,
// and report the fraction within pi/8 of the true angle ("accuracy") and within 3 pi/16
// ("delta-accuracy"). As in the public code, only bins whose hand speed exceeds min_speed enter
// the fit and the score (min_speed 0 keeps every bin).
//
//   engram::ssl::AngleScore s = engram::ssl::decode_angles(data, split, rep, dim, 5.0);
//   auto pcs = engram::ssl::pca_representation(data, split, 64);   // the PCA baseline's [bins, 64]
#include <cstdint>
#include <vector>

#include "engram/models/ssl/reach_data.hpp"
#include "engram/models/ssl/reach_runs.hpp"

namespace engram::ssl {

struct AngleScore {
  double accuracy = 0, delta_accuracy = 0;  // test bins
  double train_accuracy = 0;
  std::int64_t test_bins = 0;
};

// rep: [data.bins, dim] row-major, one row per bin of the recording.
AngleScore decode_angles(const ReachData& data, const RunSplit& split, const std::vector<double>& rep, std::int64_t dim,
                         double min_speed);

// The split's standardised counts projected on the leading `dim` principal axes of its training
// bins: [data.bins, dim].
std::vector<double> pca_representation(const ReachData& data, const RunSplit& split, std::int64_t dim);

// The 2-D projection drawn in docs (principal axes of rep over the training bins): [bins, 2].
std::vector<double> project_2d(const RunSplit& split, const std::vector<double>& rep, std::int64_t dim);

}  // namespace engram::ssl
