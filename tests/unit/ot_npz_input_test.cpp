// `experiment: sinkhorn` with `points: {file: clouds.npz}`: the archive's x, y (and a, b) give
// the same rows as the same numbers written as YAML lists, float32 and float64 arrays both read,
// the path resolves against the config file's folder, and bad archives name the array at fault.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/error.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/models/data/npz.hpp"
#include "engram/models/ot/ot_kinds.hpp"
#include "support/cli.hpp"

namespace {

using engram::data::NpyArray;

class SinkhornNpzTest : public engram::testing::ScratchDirTest {
 protected:
  SinkhornNpzTest() : ScratchDirTest("engram_sinkhorn_npz_") {}

  auto run(const std::string& config_path) const {
    const auto& kind = engram::ot::sinkhorn_kind();
    const engram::sched::JobInput job{engram::io::load_config_file(config_path), 0};
    kind.validate(job.config);
    auto backend = engram::make_backend("cpu");
    return kind.run_batch({job}, *backend, engram::Progress{})[0];
  }

  std::string error_of(const std::vector<NpyArray>& arrays) const {
    engram::data::write_npz((dir_ / "bad.npz").string(), arrays);
    try {
      run(write_config("experiment: sinkhorn\neps: 0.1\npoints: {file: bad.npz}\n", "bad.yaml"));
    } catch (const engram::Error& e) {
      return e.what();
    }
    return "no error";
  }
};

TEST_F(SinkhornNpzTest, ArchiveGivesTheRowsOfTheSameListsInYaml) {
  std::mt19937_64 rng(8);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> x(12 * 3), y(9 * 3), a(12), b(9);
  for (double* v : {x.data(), y.data()}) {
    for (std::size_t k = 0; k < (v == x.data() ? x.size() : y.size()); ++k) v[k] = unit(rng);
  }
  double ta = 0, tb = 0;
  for (double& v : a) ta += v = 0.5 + unit(rng);
  for (double& v : b) tb += v = 0.5 + unit(rng);
  for (double& v : a) v /= ta;
  for (double& v : b) v = v / tb;
  std::filesystem::create_directories(dir_ / "data");
  engram::data::write_npz((dir_ / "data" / "clouds.npz").string(),
                          {{"x", {12, 3}, "<f8", x}, {"y", {9, 3}, "<f8", y}, {"a", {12}, "<f8", a}, {"b", {9}, "<f8", b}});
  std::ostringstream yaml;
  yaml.precision(17);
  yaml << "experiment: sinkhorn\neps: 0.05\npoints:\n  x: [";
  for (int i = 0; i < 12; ++i) yaml << (i ? ", " : "") << "[" << x[i * 3] << ", " << x[i * 3 + 1] << ", " << x[i * 3 + 2] << "]";
  yaml << "]\n  y: [";
  for (int j = 0; j < 9; ++j) yaml << (j ? ", " : "") << "[" << y[j * 3] << ", " << y[j * 3 + 1] << ", " << y[j * 3 + 2] << "]";
  yaml << "]\n  a: [";
  for (int i = 0; i < 12; ++i) yaml << (i ? ", " : "") << a[i];
  yaml << "]\n  b: [";
  for (int j = 0; j < 9; ++j) yaml << (j ? ", " : "") << b[j];
  yaml << "]\n";
  const auto from_lists = run(write_config(yaml.str(), "lists.yaml"));
  // Relative to the config file's folder, not the working directory.
  const auto from_npz = run(write_config("experiment: sinkhorn\neps: 0.05\npoints: {file: data/clouds.npz}\n", "npz.yaml"));
  ASSERT_EQ(from_npz.size(), from_lists.size());
  for (std::size_t k = 0; k < from_npz.size(); ++k) {
    // Cells equal, a NaN (the divergence column when none is asked for) equal to a NaN.
    const auto nan = [](const auto& cell) {
      return std::holds_alternative<double>(cell) && std::isnan(std::get<double>(cell));
    };
    EXPECT_TRUE(from_npz[k] == from_lists[k] || (nan(from_npz[k]) && nan(from_lists[k]))) << "column " << k;
  }

  // float32 arrays read too (their values, widened).
  std::vector<double> x32 = x, y32 = y;
  for (double& v : x32) v = static_cast<float>(v);
  for (double& v : y32) v = static_cast<float>(v);
  engram::data::write_npz((dir_ / "f32.npz").string(), {{"x", {12, 3}, "<f4", x32}, {"y", {9, 3}, "<f4", y32}});
  const auto f32 = run(write_config("experiment: sinkhorn\neps: 0.05\npoints: {file: f32.npz}\n", "f32.yaml"));
  EXPECT_EQ(f32.size(), from_lists.size());
}

TEST_F(SinkhornNpzTest, BadArchivesNameTheArray) {
  const std::vector<double> six(6, 0.5), three(3, 0.5);
  EXPECT_NE(error_of({{"x", {2, 3}, "<f8", six}}).find("bad.npz)[y]"), std::string::npos) << error_of({{"x", {2, 3}, "<f8", six}});
  const std::string dtype = error_of({{"x", {2, 3}, "<f8", six}, {"y", {2, 3}, "<i4", six}});
  EXPECT_NE(dtype.find("[y].dtype"), std::string::npos) << dtype;
  const std::string shape = error_of({{"x", {6}, "<f8", six}, {"y", {2, 3}, "<f8", six}});
  EXPECT_NE(shape.find("[x].shape"), std::string::npos) << shape;
  const std::string dim = error_of({{"x", {2, 3}, "<f8", six}, {"y", {3, 2}, "<f8", six}});
  EXPECT_NE(dim.find("[y].shape"), std::string::npos) << dim;
  const std::string weights = error_of({{"x", {2, 3}, "<f8", six}, {"y", {2, 3}, "<f8", six}, {"a", {3}, "<f8", three}});
  EXPECT_NE(weights.find("[a].shape"), std::string::npos) << weights;
  std::vector<double> nan = six;
  nan[4] = std::nan("");
  const std::string finite = error_of({{"x", {2, 3}, "<f8", nan}, {"y", {2, 3}, "<f8", six}});
  EXPECT_NE(finite.find("[x][4]"), std::string::npos) << finite;
}

}  // namespace
