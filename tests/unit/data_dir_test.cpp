// Where the bundled data is found at run time (engine/io/data_dir.hpp): $ENGRAM_DATA_DIR first
// (and a wrong one is an error naming it), then a front end's registered folder, then
// share/engram/data beside the executable (in the build tree, CMake's link to data/).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "engram/engine/error.hpp"
#include "engram/engine/io/data_dir.hpp"
#include "support/cli.hpp"

namespace {

constexpr const char* kDigits = "digits-images.idx3-ubyte";

class DataDirTest : public engram::testing::ScratchDirTest {
 protected:
  DataDirTest() : ScratchDirTest("engram_data_dir_") {}
  void SetUp() override {
    ScratchDirTest::SetUp();
    ::unsetenv("ENGRAM_DATA_DIR");
    engram::io::set_bundled_data_dir("");
  }
  void TearDown() override {
    ::unsetenv("ENGRAM_DATA_DIR");
    engram::io::set_bundled_data_dir("");
    ScratchDirTest::TearDown();
  }
};

TEST_F(DataDirTest, BuildTreeFindsTheDataBesideTheExecutable) {
  const std::string dir = engram::io::bundled_data_dir(kDigits);
  EXPECT_NE(dir.find("share/engram/data"), std::string::npos) << dir;
  EXPECT_TRUE(std::filesystem::equivalent(std::filesystem::path(dir) / kDigits,
                                          std::filesystem::path(ENGRAM_SOURCE_DIR) / "data" / kDigits));
}

TEST_F(DataDirTest, RegisteredFolderComesBeforeTheExecutablesAndTheVariableBeforeBoth) {
  std::ofstream(dir_ / kDigits) << "x";
  engram::io::set_bundled_data_dir(dir_.string());
  EXPECT_EQ(engram::io::bundled_data_dir(kDigits), dir_.string());
  // A registered folder without the file is passed over.
  EXPECT_NE(engram::io::bundled_data_dir("digits-labels.idx1-ubyte"), dir_.string());
  const std::string source_data = std::string(ENGRAM_SOURCE_DIR) + "/data";
  ::setenv("ENGRAM_DATA_DIR", source_data.c_str(), 1);
  EXPECT_EQ(engram::io::bundled_data_dir(kDigits), source_data);
}

TEST_F(DataDirTest, AWrongVariableIsAnErrorNamingIt) {
  ::setenv("ENGRAM_DATA_DIR", dir_.string().c_str(), 1);
  try {
    engram::io::bundled_data_dir(kDigits);
    FAIL() << "no error";
  } catch (const engram::Error& e) {
    EXPECT_EQ(e.code(), engram::ErrorCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("ENGRAM_DATA_DIR"), std::string::npos) << e.what();
  }
}

TEST_F(DataDirTest, AMissingFileListsThePlacesSearched) {
  try {
    engram::io::bundled_data_dir("no-such-file.bin");
    FAIL() << "no error";
  } catch (const engram::Error& e) {
    EXPECT_EQ(e.code(), engram::ErrorCode::unavailable);
    EXPECT_NE(std::string(e.what()).find("share/engram/data"), std::string::npos) << e.what();
  }
}

}  // namespace
