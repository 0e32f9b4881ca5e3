#include "engram/models/assembly/datasets.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engram/engine/error.hpp"
#include "engram/engine/io/read_file.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/assembly/purposes.hpp"

namespace engram::assembly {

namespace {
// purpose::classification_data streams: step = role << 16 | class, index = sample.
enum Role : std::uint32_t { core_role = 1, split_role = 4 };

RngStream data_stream(const BrainId& brain, std::uint32_t role, std::uint32_t cls, std::uint32_t index) {
  return RngStream(RngKey{brain.seed, brain.index, purpose::classification_data, (role << 16) | cls, index});
}

std::string hex32(std::uint32_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s("0x");
  for (int shift = 28; shift >= 0; shift -= 4) s.push_back(digits[(v >> shift) & 0xFu]);
  return s;
}

std::string field_of(const std::string& prefix, const char* name) {
  std::string f(prefix);
  f.append(name);
  return f;
}

std::uint32_t big_endian(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}
}  // namespace

void SyntheticClasses::validate(const std::string& prefix) const {
  if (features == 0) throw Error::bad_input(field_of(prefix, "features"), "0", "must be at least 1");
  if (classes < 2) throw Error::bad_input(field_of(prefix, "classes"), to_text(classes), "must be at least 2");
  if (classes > 0xFFFFu) throw Error::bad_input(field_of(prefix, "classes"), to_text(classes), "must be at most 65535");
  if (core == 0 || core > features) {
    throw Error::bad_input(field_of(prefix, "core"), to_text(core), "must be in [1, features = " + to_text(features) + "]");
  }
  if (!(r > 0.0 && r <= 1.0)) throw Error::bad_input(field_of(prefix, "r"), to_text(r), "must be in (0, 1]");
  if (!(q >= 0.0 && q <= 1.0)) throw Error::bad_input(field_of(prefix, "q"), to_text(q), "must be in [0, 1]");
}

std::vector<NeuronId> synthetic_core(const SyntheticClasses& classes, const BrainId& brain, std::uint32_t cls) {
  classes.validate();
  RngStream rng = data_stream(brain, core_role, cls, 0);
  // Partial Fisher-Yates over the features: the first `core` slots are a uniform random subset.
  std::vector<NeuronId> pool(classes.features);
  std::iota(pool.begin(), pool.end(), NeuronId{0});
  for (std::uint32_t i = 0; i < classes.core; ++i) {
    const auto left = static_cast<double>(classes.features - i);
    const auto j = i + std::min(static_cast<std::uint32_t>(rng.uniform() * left), classes.features - i - 1);
    std::swap(pool[i], pool[j]);
  }
  pool.resize(classes.core);
  std::sort(pool.begin(), pool.end());
  return pool;
}

Sample synthetic_sample(const SyntheticClasses& classes, const std::vector<NeuronId>& core, const BrainId& brain,
                        std::uint32_t cls, SampleSplit split, std::uint32_t index) {
  RngStream rng = data_stream(brain, static_cast<std::uint32_t>(split), cls, index);
  Sample sample;
  while (sample.empty()) {
    auto next_core = core.begin();
    for (NeuronId f = 0; f < classes.features; ++f) {
      const bool in_core = next_core != core.end() && *next_core == f;
      if (in_core) ++next_core;
      if (rng.uniform() < (in_core ? classes.r : classes.q)) sample.push_back(f);
    }
  }
  return sample;
}

IdxArray read_idx(const std::string& path, std::uint32_t expected_dims) {
  return parse_idx(io::read_file("IDX file", path, io::data_file_limit()), path, expected_dims);
}

IdxArray parse_idx(const std::string& text, const std::string& path, std::uint32_t expected_dims) {
  const std::vector<std::uint8_t> bytes(text.begin(), text.end());
  if (bytes.size() < 4) {
    throw Error::bad_input(path, to_text(bytes.size()) + " bytes", "is too short to be an IDX file (no 4-byte magic)");
  }
  const std::uint32_t magic = big_endian(bytes.data());
  if (bytes[0] != 0 || bytes[1] != 0) {
    throw Error::bad_input(path, "magic " + hex32(magic), "is not an IDX file (the magic must start with two zero bytes)");
  }
  if (bytes[2] != 0x08) {
    throw Error::bad_input(path, "magic " + hex32(magic),
                           "has element type " + hex32(bytes[2]) + "; only unsigned-byte IDX files (type 0x08) are supported");
  }
  const std::uint32_t rank = bytes[3];
  if (rank == 0 || (expected_dims != 0 && rank != expected_dims)) {
    std::string want = expected_dims == 3 ? "an image file (idx3: magic 0x00000803)"
                       : expected_dims == 1 ? "a label file (idx1: magic 0x00000801)"
                                            : "at least 1 dimension";
    throw Error::bad_input(path, "magic " + hex32(magic), "has " + to_text(rank) + " dimension(s); expected " + want);
  }
  const std::size_t header = 4 + 4 * std::size_t{rank};
  if (bytes.size() < header) {
    throw Error::bad_input(path, to_text(bytes.size()) + " bytes", "is truncated inside its header of " + to_text(header) + " bytes");
  }
  IdxArray array;
  std::uint64_t total = 1;
  for (std::uint32_t d = 0; d < rank; ++d) {
    const std::uint32_t size = big_endian(bytes.data() + 4 + 4 * d);
    if (size == 0) throw Error::bad_input(path, "dimension " + to_text(d) + " = 0", "every dimension must be at least 1");
    array.dims.push_back(size);
    // 255 dimensions of up to 2^32 - 1 each can wrap 64 bits; a product past the payload is
    // already wrong, so the check stops there.
    if (size > bytes.size() / total) {
      throw Error::bad_input(path, "dimension " + to_text(d) + " = " + to_text(size),
                             "makes the header's shape need more than the file's " + to_text(bytes.size() - header) + " data bytes");
    }
    total *= size;
  }
  const std::uint64_t payload = bytes.size() - header;
  if (payload != total) {
    std::string shape;
    for (const std::uint32_t d : array.dims) {
      if (!shape.empty()) shape.append(" x ");
      shape.append(to_text(d));
    }
    throw Error::bad_input(path, to_text(payload) + " data bytes",
                           std::string(payload < total ? "is truncated" : "has trailing bytes") + ": the header's shape " +
                               shape + " needs " + to_text(total));
  }
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return array;
}

LabeledImages load_idx(const std::string& images_path, const std::string& labels_path) {
  IdxArray images = read_idx(images_path, 3);
  IdxArray labels = read_idx(labels_path, 1);
  if (images.dims[0] != labels.dims[0]) {
    throw Error::bad_input(labels_path, to_text(labels.dims[0]) + " labels",
                           "must match the " + to_text(images.dims[0]) + " images of " + images_path);
  }
  LabeledImages set;
  set.count = images.dims[0];
  set.rows = images.dims[1];
  set.cols = images.dims[2];
  set.pixels = std::move(images.data);
  set.labels = std::move(labels.data);
  return set;
}

namespace {
// Each pixel's sum over its 3x3 neighbourhood, pixels outside the image counting 0.
void blur3x3(const std::vector<std::uint32_t>& image, std::uint32_t rows, std::uint32_t cols, std::vector<std::uint32_t>& out) {
  for (std::uint32_t r = 0; r < rows; ++r) {
    for (std::uint32_t c = 0; c < cols; ++c) {
      std::uint32_t sum = 0;
      for (std::uint32_t rr = r == 0 ? 0 : r - 1; rr <= r + 1 && rr < rows; ++rr) {
        for (std::uint32_t cc = c == 0 ? 0 : c - 1; cc <= c + 1 && cc < cols; ++cc) sum += image[rr * cols + cc];
      }
      out[r * cols + c] = sum;
    }
  }
}
}  // namespace

FeatureSamples encode_images(const LabeledImages& images, const ImageEncoding& encoding) {
  if (encoding.replicas == 0) throw Error::bad_input("replicas", "0", "must be at least 1");
  if (encoding.threshold == 0 || encoding.threshold > 255) {
    throw Error::bad_input("threshold", to_text(encoding.threshold), "must be in [1, 255] (a pixel fires when >= threshold)");
  }
  const std::uint64_t pixels = std::uint64_t{images.rows} * images.cols;
  if (encoding.top > pixels) {
    throw Error::bad_input("top", to_text(encoding.top), "must be at most the pixels of an image (" + to_text(pixels) + ")");
  }
  const std::uint64_t features = pixels * encoding.replicas * (encoding.off_features ? 2u : 1u);
  if (features > 0xFFFFFFFFull) {
    throw Error::bad_input("replicas", to_text(encoding.replicas), "makes more than 2^32 input neurons");
  }
  FeatureSamples out;
  out.features = static_cast<std::uint32_t>(features);
  std::vector<std::uint32_t> intensity(pixels), blurred(pixels), order(pixels);
  std::vector<std::uint8_t> on(pixels);
  for (std::uint32_t i = 0; i < images.count; ++i) {
    Sample sample;
    const std::uint8_t* image = images.pixels.data() + i * pixels;
    auto fire = [&](std::uint64_t feature) {
      for (std::uint32_t rep = 0; rep < encoding.replicas; ++rep) {
        sample.push_back(static_cast<NeuronId>(feature * encoding.replicas + rep));
      }
    };
    for (std::uint64_t px = 0; px < pixels; ++px) intensity[px] = image[px];
    if (encoding.blur) blur3x3(intensity, images.rows, images.cols, blurred);
    const std::vector<std::uint32_t>& value = encoding.blur ? blurred : intensity;
    if (encoding.top > 0) {
      std::iota(order.begin(), order.end(), 0u);
      std::partial_sort(order.begin(), order.begin() + encoding.top, order.end(), [&](std::uint32_t a, std::uint32_t b) {
        return value[a] != value[b] ? value[a] > value[b] : a < b;
      });
      std::fill(on.begin(), on.end(), 0);
      for (std::uint32_t rank = 0; rank < encoding.top; ++rank) on[order[rank]] = 1;
    } else {
      for (std::uint64_t px = 0; px < pixels; ++px) on[px] = value[px] >= encoding.threshold ? 1 : 0;
    }
    for (std::uint64_t px = 0; px < pixels; ++px) {
      if (on[px]) fire(px);
    }
    // Off features come after every on feature, so the list stays increasing.
    if (encoding.off_features) {
      for (std::uint64_t px = 0; px < pixels; ++px) {
        if (!on[px]) fire(pixels + px);
      }
    }
    if (sample.empty()) {
      ++out.dropped;
      continue;
    }
    out.samples.push_back(std::move(sample));
    out.labels.push_back(images.labels[i]);
    out.classes = std::max<std::uint32_t>(out.classes, images.labels[i] + 1u);
  }
  return out;
}

Split split_per_class(const std::vector<std::uint32_t>& labels, std::uint32_t classes, std::uint32_t train_per_class,
                      std::uint32_t test_per_class, const BrainId& brain, const std::string& field) {
  std::vector<std::vector<std::uint32_t>> members(classes);
  for (std::uint32_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < classes) members[labels[i]].push_back(i);
  }
  Split split;
  const std::size_t need = std::size_t{train_per_class} + test_per_class;
  for (std::uint32_t c = 0; c < classes; ++c) {
    std::vector<std::uint32_t>& pool = members[c];
    if (pool.size() < need) {
      throw Error::bad_input(field, to_text(test_per_class),
                             "class " + to_text(c) + " has " + to_text(pool.size()) + " samples, fewer than " +
                                 to_text(train_per_class) + " for training + " + to_text(test_per_class) + " for testing");
    }
    RngStream rng = data_stream(brain, split_role, c, 0);
    for (std::size_t i = 0; i < need; ++i) {
      const auto left = pool.size() - i;
      const auto j = i + std::min(static_cast<std::size_t>(rng.uniform() * static_cast<double>(left)), left - 1);
      std::swap(pool[i], pool[j]);
    }
    split.train.emplace_back(pool.begin(), pool.begin() + train_per_class);
    split.test.emplace_back(pool.begin() + train_per_class, pool.begin() + static_cast<std::ptrdiff_t>(need));
  }
  return split;
}

}  // namespace engram::assembly
