#pragma once
// Running the `engram` executable from tests: exit code plus stdout and stderr together.
//
//   const engram::testing::CliResult r = engram::testing::run_cli("info");
//   EXPECT_EQ(r.exit_code, 0) << r.output;
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

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

}  // namespace engram::testing
