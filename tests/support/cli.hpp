#pragma once
// Running the `engram` executable from tests: exit code plus stdout and stderr together, and a
// fixture giving each test its own scratch folder.
//
//   const engram::testing::CliResult r = engram::testing::run_cli("info");
//   EXPECT_EQ(r.exit_code, 0) << r.output;
//   class MyCliTest : public engram::testing::ScratchDirTest {
//     MyCliTest() : ScratchDirTest("engram_my_cli_") {}
//   };
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace engram::testing {

struct CliResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

// `env` is prefixed to the command line, e.g. "OMP_NUM_THREADS=1".
inline CliResult run_cli(const std::string& args, const std::string& env = "") {
  const std::string command = env + " " + ENGRAM_CLI + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh folder per test, <tmp>/<prefix><test name>, removed afterwards.
class ScratchDirTest : public ::testing::Test {
 protected:
  explicit ScratchDirTest(std::string prefix) : prefix_(std::move(prefix)) {}
  void SetUp() override {
    // The process id keeps two suites run at once (two checkouts, ctest -j) out of each other's folders.
    dir_ = std::filesystem::temp_directory_path() /
           (prefix_ + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
            std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `text` to <dir>/<name>; returns the path.
  std::string write_config(const std::string& text, const std::string& name = "config.yaml") const {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }

  std::filesystem::path dir_;

 private:
  std::string prefix_;
};

}  // namespace engram::testing
