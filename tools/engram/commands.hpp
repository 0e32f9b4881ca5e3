#pragma once
// The engram CLI's subcommands. Each returns the process exit code; engram::Error escapes to
// main(), which maps bad input to 2 and internal failures to 1.
#include <optional>
#include <string>

namespace engram::cli {

struct RunOptions {
  std::string config;
  std::optional<std::string> backend;  // overrides the config's backend
  std::optional<std::string> out;      // directory for projection.csv
};

int run_command(const RunOptions& options);
int info_command();

}  // namespace engram::cli
