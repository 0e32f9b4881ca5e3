#pragma once
// Binned reaching recordings for the self-supervised models (Swap-VAE, MYOW): one row per time
// bin, trials stored as runs of consecutive bins. The file format is the NPZ that
// data/reach/README.md describes:
//   counts    [bins, neurons]  integer spike counts (int8..int64, uint8..uint64), >= 0
//   trial     [bins]           integer trial id: starts at 0, never decreases, steps by at most 1
//   direction [bins]           integer reach target in [0, 8), constant within a trial
//   time_bin  [bins]           optional; position of the bin inside its trial (0, 1, ...)
//   velocity  [bins, 2]        optional; hand velocity (cm/s), finite
// Any other array is ignored. Every problem raises engram::Error::bad_input naming the file,
// the array and the index (for example "reach.npz: trial[17]").
//
//   engram::ssl::ReachData d = engram::ssl::load_reach_data("data/reach/chewie_2013_10_03.npz");
//   float c = d.count(bin, neuron);  double angle = d.angle(bin);
//
// synthetic_reach draws a population with known latents for fast tests: content = the reach
// direction (von Mises tuning, constant within a trial), style = a per-trial gain times a
// bell-shaped speed profile over the trial's bins; Poisson counts.
#include <cstdint>
#include <string>
#include <vector>

namespace engram::ssl {

inline constexpr std::int32_t kReachDirections = 8;

struct ReachData {
  std::int64_t bins = 0, neurons = 0, trials = 0;
  std::vector<float> counts;            // [bins, neurons]
  std::vector<std::int32_t> trial;      // [bins]
  std::vector<std::int32_t> time_bin;   // [bins]
  std::vector<std::int32_t> direction;  // [bins]
  std::vector<float> speed;             // [bins] |velocity| (zeros when the file has none)
  std::vector<float> style;             // [bins] the generating style latent (synthetic only)
  std::vector<std::int64_t> trial_start;  // [trials + 1] first bin of each trial, then bins

  float count(std::int64_t bin, std::int64_t neuron) const {
    return counts[static_cast<std::size_t>(bin * neurons + neuron)];
  }
  double angle(std::int64_t bin) const;  // direction * 2 pi / 8
};

ReachData load_reach_data(const std::string& path);

// The checks load_reach_data applies, for data built in memory; `origin` names it in errors.
// Fills trial_start and trials.
void finish_reach_data(ReachData& data, const std::string& origin);

struct SyntheticReachSpec {
  std::int64_t trials = 160;
  std::int64_t time = 10;       // bins per trial
  std::int64_t neurons = 60;
  double baseline = 0.3;        // mean spikes per bin without drive
  double tuning = 1.2;          // log-rate modulation by direction (von Mises amplitude)
  double style_gain = 1.5;      // log-rate modulation by the style latent
  std::uint64_t population_seed = 1;
};
ReachData synthetic_reach(const SyntheticReachSpec& spec, std::uint64_t seed);

}  // namespace engram::ssl
