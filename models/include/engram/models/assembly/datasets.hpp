#pragma once
// Data for the Assembly Calculus classifier (classification.hpp). A sample is the list of input
// neurons that fire for it (strictly increasing, non-empty), the form BrainBatch::set_firing takes.
//
// Three sources:
//  - the synthetic classes of the literature (Dabagia, Papadimitriou & Vempala, COLT 2022): class
//    c has a core of `core` features, a random subset of the input neurons; in a sample each core
//    feature fires with probability r and every other feature with probability q. Cores and
//    samples are keyed Philox draws (seed, brain, purpose::classification_data, ...), so brain i
//    of a run sees the same data alone or in a batch of any size;
//  - image sets in the MNIST IDX format: MNIST itself when the user has it, and scikit-learn's
//    8x8 digits converted once by scripts/make_digits.py into data/digits-*.idx?-ubyte;
//  - encode_images(): a pixel at or above a threshold fires its `replicas` input neurons.
//
//   SyntheticClasses classes;                    // 1000 features, 2 classes, core 100, r 0.9, q 0.01
//   auto core = synthetic_core(classes, {seed, brain}, /*cls=*/0);
//   auto x = synthetic_sample(classes, core, {seed, brain}, 0, SampleSplit::train, /*index=*/3);
//
//   auto images = load_idx("train-images-idx3-ubyte", "train-labels-idx1-ubyte");
//   FeatureSamples data = encode_images(images, {/*threshold=*/128, /*replicas=*/1});
#include <cstdint>
#include <string>
#include <vector>

#include "engram/kernels/core/types.hpp"
#include "engram/models/assembly/brain_batch.hpp"
#include "engram/models/assembly/purposes.hpp"

namespace engram::assembly {

using Sample = std::vector<NeuronId>;  // firing input neurons, strictly increasing, non-empty

// ---- Synthetic classes ----
struct SyntheticClasses {
  std::uint32_t features = 1000;  // input neurons
  std::uint32_t classes = 2;
  std::uint32_t core = 100;  // core features per class (independent random subsets; cores may overlap)
  double r = 0.9;            // firing probability of a core feature
  double q = 0.01;           // firing probability of any other feature
  // Throws engram::Error naming the bad field; `prefix` is prepended to field names ("data.").
  void validate(const std::string& prefix = "") const;
};

enum class SampleSplit : std::uint32_t { train = 2, test = 3 };

// The core of class `cls` for one brain: `core` distinct features, increasing.
std::vector<NeuronId> synthetic_core(const SyntheticClasses& classes, const BrainId& brain, std::uint32_t cls);
// Sample `index` of class `cls` from the given split (the two splits never share draws). Each
// feature fires independently (r on the core, q elsewhere); a draw with no firing feature is
// redrawn from the same stream, so samples are conditioned on firing at least one feature.
Sample synthetic_sample(const SyntheticClasses& classes, const std::vector<NeuronId>& core, const BrainId& brain,
                        std::uint32_t cls, SampleSplit split, std::uint32_t index);

// ---- IDX files (MNIST format) ----
// An IDX file of unsigned bytes: a big-endian magic 0x0000 08 <dims>, one big-endian uint32 per
// dimension, then prod(dims) bytes in row-major order.
struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;
};
// Throws engram::Error (bad_input, naming the file) for a missing file, a wrong magic, an element
// type other than unsigned byte, `expected_dims` not matching, or a size that disagrees with the
// header (truncated or trailing bytes). expected_dims = 0 accepts any rank.
IdxArray read_idx(const std::string& path, std::uint32_t expected_dims = 0);
// The same from bytes already in memory; `path` names them in errors (the fuzz harness).
IdxArray parse_idx(const std::string& bytes, const std::string& path, std::uint32_t expected_dims = 0);

struct LabeledImages {
  std::uint32_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // [count, rows * cols], row-major
  std::vector<std::uint8_t> labels;  // [count]
};
// Images (idx3: count x rows x cols) and labels (idx1: count) of one set; the counts must agree.
LabeledImages load_idx(const std::string& images_path, const std::string& labels_path);

// ---- Encoding images as firing sets ----
struct ImageEncoding {
  std::uint32_t threshold = 8;  // a pixel fires when its intensity is >= threshold (digits: 0..16)
  std::uint32_t replicas = 1;   // input neurons per pixel: pixel i fires neurons [i*replicas, (i+1)*replicas)
  // Also code dark pixels: pixel i below the threshold fires neurons (pixels + i) * replicas + [0, replicas),
  // so every image fires exactly pixels * replicas neurons and missing ink is evidence too.
  bool off_features = false;
  // Dabagia et al.'s MNIST encoding: blur sums each pixel's 3x3 neighbourhood (zero outside the
  // image) first, and top > 0 fires the `top` brightest pixels (ties: the lower pixel index)
  // instead of those at or above the threshold, so every image fires the same number of pixels.
  bool blur = false;
  std::uint32_t top = 0;
};

struct FeatureSamples {
  std::uint32_t features = 0;  // input neurons: rows * cols * replicas (twice that with off_features)
  std::uint32_t classes = 0;   // 1 + the largest label kept
  std::vector<Sample> samples;
  std::vector<std::uint32_t> labels;
  std::uint32_t dropped = 0;   // images with no pixel at or above the threshold (left out)
};
FeatureSamples encode_images(const LabeledImages& images, const ImageEncoding& encoding);

// A per-brain split of a labelled set: for every class, `train_per_class` sample indices for
// training and `test_per_class` different ones for testing, chosen by a keyed shuffle of that
// class's samples. Throws bad_input (field `field`) when a class has fewer than train + test samples.
struct Split {
  std::vector<std::vector<std::uint32_t>> train, test;  // [class][i] -> sample index
};
Split split_per_class(const std::vector<std::uint32_t>& labels, std::uint32_t classes, std::uint32_t train_per_class,
                      std::uint32_t test_per_class, const BrainId& brain, const std::string& field = "test.samples_per_class");

}  // namespace engram::assembly
