#include "engram/models/plasticity/plastic_data.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numbers>
#include <numeric>

#include "engram/engine/error.hpp"
#include "engram/engine/io/data_dir.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/plasticity/purposes.hpp"

namespace engram::plastic {

namespace {

// Stream 0xFFFFFFFF of purpose::plasticity_data holds the teachers; streams below it the samples.
constexpr std::uint32_t kTeacherStream = 0xFFFFFFFFu;

Dataset random_inputs(std::uint32_t inputs, std::uint32_t labels, std::size_t n, std::uint64_t seed, std::uint32_t stream) {
  if (stream == kTeacherStream) throw Error::bad_input("data.stream", to_text(stream), "is reserved for teachers");
  Dataset data;
  data.features = inputs;
  data.labels = labels;
  data.x.resize(n * inputs);
  data.y.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    RngStream rng({seed, 0, purpose::plasticity_data, stream, static_cast<std::uint32_t>(i)});
    for (std::uint32_t k = 0; k < inputs; ++k) data.x[i * inputs + k] = rng.normal();
  }
  return data;
}

std::vector<double> teacher_normals(std::uint64_t seed, std::uint32_t index, std::size_t count) {
  RngStream rng({seed, 0, purpose::plasticity_data, kTeacherStream, index});
  std::vector<double> out(count);
  for (double& v : out) v = rng.normal();
  return out;
}

}  // namespace

Dataset halfspace_data(std::uint32_t inputs, std::size_t n, std::uint64_t seed, std::uint32_t stream) {
  Dataset data = random_inputs(inputs, 2, n, seed, stream);
  const std::vector<double> w = teacher_normals(seed, 0, inputs);
  for (std::size_t i = 0; i < n; ++i) {
    double dot = 0.0;
    for (std::uint32_t k = 0; k < inputs; ++k) dot += w[k] * data.x[i * inputs + k];
    data.y[i] = dot > 0.0 ? 1u : 0u;
  }
  return data;
}

Dataset relu_teacher_data(std::uint32_t inputs, std::uint32_t labels, std::uint32_t hidden, std::size_t n,
                          std::uint64_t seed, std::uint32_t stream) {
  if (labels < 2) throw Error::bad_input("data.labels", to_text(labels), "must be at least 2");
  if (hidden == 0) throw Error::bad_input("data.hidden", "0", "must be at least 1");
  Dataset data = random_inputs(inputs, labels, n, seed, stream);
  const std::vector<double> a = teacher_normals(seed, 1, std::size_t{hidden} * inputs);
  const std::vector<double> c = teacher_normals(seed, 2, std::size_t{labels} * hidden);
  // Hidden units are centred by their mean over x ~ N(0, I), E ReLU(a·x) = ‖a‖ / √(2π): without
  // it C's row sums act as label biases and a random teacher can leave a label unreachable.
  std::vector<double> hid(hidden), out(labels), mean(hidden);
  for (std::uint32_t u = 0; u < hidden; ++u) {
    double norm2 = 0.0;
    for (std::uint32_t k = 0; k < inputs; ++k) norm2 += a[u * inputs + k] * a[u * inputs + k];
    mean[u] = std::sqrt(norm2) / std::sqrt(2.0 * std::numbers::pi);
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::uint32_t u = 0; u < hidden; ++u) {
      double s = 0.0;
      for (std::uint32_t k = 0; k < inputs; ++k) s += a[u * inputs + k] * data.x[i * inputs + k];
      hid[u] = std::max(0.0, s) - mean[u];
    }
    for (std::uint32_t l = 0; l < labels; ++l) {
      double s = 0.0;
      for (std::uint32_t u = 0; u < hidden; ++u) s += c[l * hidden + u] * hid[u];
      out[l] = s;
    }
    data.y[i] = plasticity::rule_argmax(out.data(), labels);
  }
  return data;
}

Dataset plastic_teacher_data(const PlasticShape& shape, std::size_t n, std::uint64_t seed, std::uint32_t stream) {
  shape.validate("network.");
  Dataset data = random_inputs(shape.inputs, shape.labels, n, seed, stream);
  const PlasticWeights teacher = random_weights(shape, seed, kTeacherStream, 1.0);
  for (std::size_t i = 0; i < n; ++i) data.y[i] = forward(shape, teacher, data.sample(i)).predicted;
  return data;
}

Dataset image_data(const assembly::LabeledImages& images) {
  Dataset data;
  data.features = images.rows * images.cols;
  std::uint32_t top = 0;
  for (std::uint8_t p : images.pixels) top = std::max<std::uint32_t>(top, p);
  const double scale = top == 0 ? 1.0 : static_cast<double>(top);
  data.x.resize(images.pixels.size());
  for (std::size_t i = 0; i < images.pixels.size(); ++i) data.x[i] = static_cast<double>(images.pixels[i]) / scale;
  data.y.assign(images.labels.begin(), images.labels.end());
  std::uint32_t classes = 0;
  for (std::uint32_t y : data.y) classes = std::max(classes, y + 1);
  data.labels = classes;
  return data;
}

Dataset digits_data() {
  const std::string dir = io::bundled_data_dir("digits-images.idx3-ubyte");
  return image_data(assembly::load_idx(dir + "/digits-images.idx3-ubyte", dir + "/digits-labels.idx1-ubyte"));
}

void standardize(Dataset& train, Dataset& test) {
  const std::size_t d = train.features;
  if (test.features != d) throw Error::bad_input("data.features", to_text(test.features), "train and test must agree");
  if (train.size() == 0) throw Error::bad_input("data.train_examples", "0", "standardising needs training examples");
  std::vector<double> mean(d, 0.0), sd(d, 0.0);
  const double n = static_cast<double>(train.size());
  for (std::size_t i = 0; i < train.size(); ++i) {
    for (std::size_t k = 0; k < d; ++k) mean[k] += train.x[i * d + k] / n;
  }
  for (std::size_t i = 0; i < train.size(); ++i) {
    for (std::size_t k = 0; k < d; ++k) sd[k] += (train.x[i * d + k] - mean[k]) * (train.x[i * d + k] - mean[k]) / n;
  }
  // Constant features (the digits' always-dark corners) become 0 instead of 0/0.
  for (double& s : sd) s = s > 1e-12 ? std::sqrt(s) : 1.0;
  for (Dataset* part : {&train, &test}) {
    for (std::size_t i = 0; i < part->size(); ++i) {
      for (std::size_t k = 0; k < d; ++k) part->x[i * d + k] = (part->x[i * d + k] - mean[k]) / sd[k];
    }
  }
}

void shuffle_split(const Dataset& data, std::size_t n_train, std::uint64_t seed, Dataset& train, Dataset& test) {
  if (n_train >= data.size()) {
    throw Error::bad_input("data.train_examples", to_text(n_train), "must be below the set's size " + to_text(data.size()));
  }
  std::vector<std::size_t> order(data.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  RngStream rng({seed, 0, purpose::plasticity_data, 0xFFFFFFFEu, 0});
  for (std::size_t i = order.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(rng.next_u64() % i);
    std::swap(order[i - 1], order[j]);
  }
  for (Dataset* part : {&train, &test}) {
    part->features = data.features;
    part->labels = data.labels;
    part->x.clear();
    part->y.clear();
  }
  for (std::size_t r = 0; r < order.size(); ++r) {
    Dataset& part = r < n_train ? train : test;
    const double* x = data.sample(order[r]);
    part.x.insert(part.x.end(), x, x + data.features);
    part.y.push_back(data.y[order[r]]);
  }
}

}  // namespace engram::plastic
