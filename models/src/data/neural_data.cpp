#include "engram/models/data/neural_data.hpp"

#include <cmath>

#include "engram/engine/error.hpp"
#include "engram/models/data/npz.hpp"

namespace engram::data {

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

NeuralData NeuralData::subset(const std::vector<std::int64_t>& ids) const {
  NeuralData out;
  out.trials = static_cast<std::int64_t>(ids.size());
  out.time = time;
  out.neurons = neurons;
  out.classes = classes;
  out.behaviour_dim = behaviour_dim;
  const std::size_t per = static_cast<std::size_t>(time * neurons), per_b = static_cast<std::size_t>(time * behaviour_dim);
  for (std::int64_t id : ids) {
    const std::size_t i = static_cast<std::size_t>(id);
    out.counts.insert(out.counts.end(), counts.begin() + static_cast<std::ptrdiff_t>(i * per),
                      counts.begin() + static_cast<std::ptrdiff_t>((i + 1) * per));
    if (!labels.empty()) out.labels.push_back(labels[i]);
    if (!behaviour.empty()) {
      out.behaviour.insert(out.behaviour.end(), behaviour.begin() + static_cast<std::ptrdiff_t>(i * per_b),
                           behaviour.begin() + static_cast<std::ptrdiff_t>((i + 1) * per_b));
    }
  }
  return out;
}

void validate_neural_data(const NeuralData& d, const std::string& origin) {
  if (d.trials <= 0 || d.time <= 0 || d.neurons <= 0) {
    throw Error::bad_input(origin + ": counts", shape_text({d.trials, d.time, d.neurons}),
                           "needs at least one trial, time bin and neuron");
  }
  for (std::size_t i = 0; i < d.counts.size(); ++i) {
    const float c = d.counts[i];
    if (!std::isfinite(c) || c < 0) {
      const std::int64_t flat = static_cast<std::int64_t>(i);
      const std::string at = "[" + std::to_string(flat / (d.time * d.neurons)) + ", " +
                             std::to_string((flat / d.neurons) % d.time) + ", " + std::to_string(flat % d.neurons) + "]";
      throw Error::bad_input(origin + ": counts" + at, to_text(c),
                             std::isfinite(c) ? "spike counts must be >= 0" : "spike counts must be finite (NaN or inf found)");
    }
  }
  if (!d.labels.empty()) {
    if (static_cast<std::int64_t>(d.labels.size()) != d.trials) {
      throw Error::bad_input(origin + ": labels", std::to_string(d.labels.size()) + " labels",
                             "needs one label per trial (" + std::to_string(d.trials) + ")");
    }
    for (std::size_t i = 0; i < d.labels.size(); ++i) {
      if (d.labels[i] < 0 || d.labels[i] >= d.classes) {
        throw Error::bad_input(origin + ": labels[" + std::to_string(i) + "]", std::to_string(d.labels[i]),
                               "label out of range: must lie in [0, " + std::to_string(d.classes) + ")");
      }
    }
  }
  for (std::size_t i = 0; i < d.behaviour.size(); ++i) {
    if (!std::isfinite(d.behaviour[i])) {
      throw Error::bad_input(origin + ": behaviour", to_text(d.behaviour[i]), "behaviour must be finite (NaN or inf found)");
    }
  }
}

NeuralData load_neural_data(const std::string& path, std::int64_t classes) {
  const auto arrays = read_npz(path);
  const auto counts = arrays.find("counts");
  if (counts == arrays.end()) throw Error::bad_input(path, "(no counts)", "needs an array 'counts' [trials, time, neurons]");
  const NpyArray& c = counts->second;
  if (c.shape.size() != 3) {
    throw Error::bad_input(path + ": counts", "shape " + shape_text(c.shape),
                           "wrong rank " + std::to_string(c.shape.size()) + ": counts must be [trials, time, neurons]");
  }
  NeuralData d;
  d.trials = c.shape[0];
  d.time = c.shape[1];
  d.neurons = c.shape[2];
  d.counts.assign(c.values.begin(), c.values.end());
  if (const auto labels = arrays.find("labels"); labels != arrays.end()) {
    const NpyArray& l = labels->second;
    if (l.shape.size() != 1 || l.shape[0] != d.trials) {
      throw Error::bad_input(path + ": labels", "shape " + shape_text(l.shape),
                             "labels must be [trials] = [" + std::to_string(d.trials) + "]");
    }
    std::int64_t largest = -1;
    for (double v : l.values) {
      if (!std::isfinite(v) || v != std::floor(v)) {
        throw Error::bad_input(path + ": labels", to_text(v), "labels must be whole numbers");
      }
      // Values beyond int32 are out of range for any sensible class count: clamp for the check.
      const double clamped = std::max(-1.0, std::min(v, 2147483647.0));
      d.labels.push_back(static_cast<std::int32_t>(clamped));
      largest = std::max<std::int64_t>(largest, static_cast<std::int64_t>(clamped));
    }
    d.classes = classes > 0 ? classes : largest + 1;
  }
  if (const auto behaviour = arrays.find("behaviour"); behaviour != arrays.end()) {
    const NpyArray& b = behaviour->second;
    if (b.shape.size() != 3 || b.shape[0] != d.trials || b.shape[1] != d.time) {
      throw Error::bad_input(path + ": behaviour", "shape " + shape_text(b.shape),
                             "behaviour must be [trials, time, d] = [" + std::to_string(d.trials) + ", " +
                                 std::to_string(d.time) + ", d]");
    }
    d.behaviour_dim = b.shape[2];
    d.behaviour.assign(b.values.begin(), b.values.end());
  }
  validate_neural_data(d, path);
  return d;
}

void save_neural_data(const std::string& path, const NeuralData& d) {
  std::vector<NpyArray> arrays;
  arrays.push_back({"counts", {d.trials, d.time, d.neurons}, "<f4", {d.counts.begin(), d.counts.end()}});
  if (!d.labels.empty()) arrays.push_back({"labels", {d.trials}, "<i8", {d.labels.begin(), d.labels.end()}});
  if (!d.behaviour.empty()) {
    arrays.push_back({"behaviour", {d.trials, d.time, d.behaviour_dim}, "<f4", {d.behaviour.begin(), d.behaviour.end()}});
  }
  write_npz(path, arrays);
}

}  // namespace engram::data
