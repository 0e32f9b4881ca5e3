// Datasets of the classifier: the IDX reader (on tiny files written here, malformed ones
// included), the committed digits files, image encoding, synthetic classes and per-brain splits.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/models/assembly/datasets.hpp"

namespace engram::assembly {
namespace {

std::vector<std::uint8_t> idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims,
                                    const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> bytes{0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (const std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<std::uint8_t>(d >> shift));
  }
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

class IdxFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("engram_idx_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::vector<std::uint8_t>& bytes) {
    const auto path = dir_ / name;
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path.string();
  }
  // Three 2x2 images and their labels.
  std::string images() { return write("images.idx3", idx_bytes(0x08, {3, 2, 2}, {0, 9, 200, 255, 1, 2, 3, 4, 128, 0, 0, 127})); }
  std::string labels() { return write("labels.idx1", idx_bytes(0x08, {3}, {7, 0, 2})); }

  std::filesystem::path dir_;
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::bad_input) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no engram::Error thrown";
  return "";
}

TEST_F(IdxFiles, ReadsImagesAndLabels) {
  const LabeledImages set = load_idx(images(), labels());
  EXPECT_EQ(set.count, 3u);
  EXPECT_EQ(set.rows, 2u);
  EXPECT_EQ(set.cols, 2u);
  EXPECT_EQ(set.pixels, (std::vector<std::uint8_t>{0, 9, 200, 255, 1, 2, 3, 4, 128, 0, 0, 127}));
  EXPECT_EQ(set.labels, (std::vector<std::uint8_t>{7, 0, 2}));
}

TEST_F(IdxFiles, RefusesMalformedFiles) {
  const std::string img = images(), lbl = labels();
  EXPECT_NE(error_of([&] { load_idx(lbl, lbl); }).find("expected an image file"), std::string::npos);
  EXPECT_NE(error_of([&] { load_idx(img, img); }).find("expected a label file"), std::string::npos);
  const std::string floats = write("floats.idx3", idx_bytes(0x0D, {1, 1, 1}, {0, 0, 0, 0}));
  EXPECT_NE(error_of([&] { read_idx(floats, 3); }).find("only unsigned-byte"), std::string::npos);
  const std::string bad_magic = write("bad.idx3", {0x12, 0x34, 0x08, 0x03, 0, 0, 0, 1});
  EXPECT_NE(error_of([&] { read_idx(bad_magic, 3); }).find("two zero bytes"), std::string::npos);
  const std::string truncated = write("short.idx3", idx_bytes(0x08, {2, 2, 2}, {1, 2, 3}));
  EXPECT_NE(error_of([&] { read_idx(truncated, 3); }).find("is truncated: the header's shape 2 x 2 x 2 needs 8"),
            std::string::npos);
  const std::string trailing = write("long.idx1", idx_bytes(0x08, {2}, {1, 2, 3}));
  EXPECT_NE(error_of([&] { read_idx(trailing, 1); }).find("trailing bytes"), std::string::npos);
  const std::string cut_header = write("cut.idx3", {0, 0, 0x08, 0x03, 0, 0});
  EXPECT_NE(error_of([&] { read_idx(cut_header, 3); }).find("truncated inside its header"), std::string::npos);
  const std::string tiny = write("tiny", {0, 0});
  EXPECT_NE(error_of([&] { read_idx(tiny); }).find("too short"), std::string::npos);
  const std::string zero = write("zero.idx1", idx_bytes(0x08, {0}, {}));
  EXPECT_NE(error_of([&] { read_idx(zero, 1); }).find("at least 1"), std::string::npos);
  const std::string two_labels = write("two.idx1", idx_bytes(0x08, {2}, {1, 2}));
  EXPECT_NE(error_of([&] { load_idx(img, two_labels); }).find("must match the 3 images"), std::string::npos);
  const std::string missing = (dir_ / "absent.idx3").string();
  const std::string message = error_of([&] { read_idx(missing, 3); });
  EXPECT_NE(message.find("absent.idx3"), std::string::npos);
  EXPECT_NE(message.find("cannot be opened"), std::string::npos);
}

TEST_F(IdxFiles, EncodesPixelsAsFiringFeatures) {
  const LabeledImages set = load_idx(images(), labels());
  FeatureSamples on = encode_images(set, {128, 2, false, false, 0});
  EXPECT_EQ(on.features, 8u);
  ASSERT_EQ(on.samples.size(), 2u);  // the second image has no pixel >= 128
  EXPECT_EQ(on.dropped, 1u);
  EXPECT_EQ(on.samples[0], (Sample{4, 5, 6, 7}));  // pixels 2 and 3
  EXPECT_EQ(on.samples[1], (Sample{0, 1}));        // pixel 0
  EXPECT_EQ(on.labels, (std::vector<std::uint32_t>{7, 2}));
  EXPECT_EQ(on.classes, 8u);

  FeatureSamples both = encode_images(set, {128, 1, true, false, 0});
  EXPECT_EQ(both.features, 8u);
  EXPECT_EQ(both.samples[0], (Sample{2, 3, 4, 5}));  // on: pixels 2, 3; off: pixels 0, 1
  for (const Sample& s : both.samples) EXPECT_EQ(s.size(), 4u);
  EXPECT_THROW(encode_images(set, {0, 1, false, false, 0}), Error);
  EXPECT_THROW(encode_images(set, {8, 0, false, false, 0}), Error);
}

TEST(Datasets, CommittedDigitsFilesLoad) {
  const std::string data = std::string(ENGRAM_SOURCE_DIR) + "/data/";
  const LabeledImages digits = load_idx(data + "digits-images.idx3-ubyte", data + "digits-labels.idx1-ubyte");
  EXPECT_EQ(digits.count, 1797u);
  EXPECT_EQ(digits.rows, 8u);
  EXPECT_EQ(digits.cols, 8u);
  EXPECT_EQ(*std::max_element(digits.pixels.begin(), digits.pixels.end()), 16);
  std::vector<int> per_class(10, 0);
  for (const std::uint8_t l : digits.labels) {
    ASSERT_LT(l, 10);
    ++per_class[l];
  }
  EXPECT_EQ(per_class, (std::vector<int>{178, 182, 177, 183, 181, 182, 181, 179, 174, 180}));
  const FeatureSamples encoded = encode_images(digits, {8, 1, false, false, 0});
  EXPECT_EQ(encoded.dropped, 0u);
  EXPECT_EQ(encoded.classes, 10u);
}

TEST(Datasets, BlurredTopPixelsFire) {
  // Dabagia et al.'s MNIST encoding on the digits: 3x3 box blur, the 16 brightest pixels fire.
  const std::string data = std::string(ENGRAM_SOURCE_DIR) + "/data/";
  const LabeledImages digits = load_idx(data + "digits-images.idx3-ubyte", data + "digits-labels.idx1-ubyte");
  const FeatureSamples encoded = encode_images(digits, {8, 2, false, true, 16});
  ASSERT_EQ(encoded.samples.size(), digits.count);
  EXPECT_EQ(encoded.features, 128u);
  for (std::uint32_t i = 0; i < digits.count; i += 97) {
    int blurred[64];
    for (int r = 0; r < 8; ++r) {
      for (int c = 0; c < 8; ++c) {
        int sum = 0;
        for (int dr = -1; dr <= 1; ++dr) {
          for (int dc = -1; dc <= 1; ++dc) {
            if (r + dr >= 0 && r + dr < 8 && c + dc >= 0 && c + dc < 8) sum += digits.pixels[i * 64 + (r + dr) * 8 + c + dc];
          }
        }
        blurred[r * 8 + c] = sum;
      }
    }
    const Sample& s = encoded.samples[i];
    ASSERT_EQ(s.size(), 32u) << "image " << i << ": 16 pixels x 2 replicas";
    std::vector<bool> fired(64, false);
    for (std::size_t j = 0; j < s.size(); j += 2) {
      EXPECT_EQ(s[j + 1], s[j] + 1);
      fired[s[j] / 2] = true;
    }
    // Every fired pixel outranks every silent one (brighter, or as bright with a lower index).
    for (int a = 0; a < 64; ++a) {
      for (int b = 0; b < 64; ++b) {
        if (fired[a] && !fired[b]) {
          EXPECT_TRUE(blurred[a] > blurred[b] || (blurred[a] == blurred[b] && a < b)) << "image " << i << " pixels " << a << ", " << b;
        }
      }
    }
  }
  EXPECT_THROW(encode_images(digits, {8, 1, false, true, 65}), Error);
}

TEST(Datasets, SyntheticClassesFireCoreWithRAndTheRestWithQ) {
  SyntheticClasses classes;  // 1000 features, core 100, r 0.9, q 0.01
  const BrainId brain{11, 3};
  const std::vector<NeuronId> core = synthetic_core(classes, brain, 0);
  ASSERT_EQ(core.size(), 100u);
  EXPECT_TRUE(std::is_sorted(core.begin(), core.end()));
  EXPECT_EQ(std::set<NeuronId>(core.begin(), core.end()).size(), 100u);
  EXPECT_EQ(core, synthetic_core(classes, brain, 0)) << "keyed draws are reproducible";
  EXPECT_NE(core, synthetic_core(classes, brain, 1));
  EXPECT_NE(core, synthetic_core(classes, BrainId{11, 4}, 0)) << "each brain has its own cores";

  double in_core = 0, outside = 0;
  const int samples = 400;
  for (int i = 0; i < samples; ++i) {
    const Sample s = synthetic_sample(classes, core, brain, 0, SampleSplit::train, static_cast<std::uint32_t>(i));
    ASSERT_TRUE(std::is_sorted(s.begin(), s.end()));
    for (const NeuronId f : s) (std::binary_search(core.begin(), core.end(), f) ? in_core : outside) += 1;
  }
  EXPECT_NEAR(in_core / (samples * 100.0), 0.9, 0.01);
  EXPECT_NEAR(outside / (samples * 900.0), 0.01, 0.002);
  EXPECT_NE(synthetic_sample(classes, core, brain, 0, SampleSplit::train, 0),
            synthetic_sample(classes, core, brain, 0, SampleSplit::test, 0))
      << "training and test samples are different draws";

  SyntheticClasses sparse;
  sparse.features = 20;
  sparse.core = 2;
  sparse.r = 0.01;
  sparse.q = 0.0;
  const auto sparse_core = synthetic_core(sparse, brain, 0);
  for (std::uint32_t i = 0; i < 50; ++i) {
    EXPECT_FALSE(synthetic_sample(sparse, sparse_core, brain, 0, SampleSplit::test, i).empty())
        << "samples are conditioned on firing at least one feature";
  }
}

TEST(Datasets, SyntheticValidationNamesTheField) {
  SyntheticClasses c;
  c.core = 2000;
  EXPECT_NE(error_of([&] { c.validate("data."); }).find("data.core = 2000"), std::string::npos);
  c = SyntheticClasses{};
  c.q = 1.5;
  EXPECT_NE(error_of([&] { c.validate("data."); }).find("data.q = 1.5"), std::string::npos);
  c = SyntheticClasses{};
  c.classes = 1;
  EXPECT_NE(error_of([&] { c.validate(); }).find("classes = 1"), std::string::npos);
}

TEST(Datasets, SplitPerClassIsDisjointAndKeyedByBrain) {
  std::vector<std::uint32_t> labels;
  for (std::uint32_t i = 0; i < 60; ++i) labels.push_back(i % 3);
  const Split a = split_per_class(labels, 3, 5, 10, BrainId{1, 0});
  ASSERT_EQ(a.train.size(), 3u);
  for (std::uint32_t c = 0; c < 3; ++c) {
    ASSERT_EQ(a.train[c].size(), 5u);
    ASSERT_EQ(a.test[c].size(), 10u);
    std::set<std::uint32_t> seen;
    for (const auto i : a.train[c]) { EXPECT_EQ(labels[i], c); seen.insert(i); }
    for (const auto i : a.test[c]) { EXPECT_EQ(labels[i], c); seen.insert(i); }
    EXPECT_EQ(seen.size(), 15u) << "training and test indices are disjoint";
  }
  EXPECT_EQ(a.train, split_per_class(labels, 3, 5, 10, BrainId{1, 0}).train);
  EXPECT_NE(a.train, split_per_class(labels, 3, 5, 10, BrainId{1, 1}).train);
  EXPECT_NE(error_of([&] { split_per_class(labels, 3, 15, 10, BrainId{1, 0}); }).find("class 0 has 20 samples"),
            std::string::npos);
}

}  // namespace
}  // namespace engram::assembly
