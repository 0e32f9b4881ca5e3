// engram: command-line entry point.
//   engram run CONFIG.yaml [--backend cpu|cuda|auto] [--out DIR]
//   engram info
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "commands.hpp"
#include "engram/engine/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"engram: batched simulation and training of brain models"};
  app.require_subcommand(1);
  engram::cli::RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "Run an experiment described by a YAML config");
  run_cmd->add_option("config", run.config, "Experiment config (YAML)")->required();
  run_cmd->add_option("--backend", run.backend, "cpu, cuda or auto (overrides the config)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  run_cmd->add_option("--out", run.out, "Directory to write results into");
  app.add_subcommand("info", "Print the version, compiled backends and devices");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    if (run_cmd->parsed()) return engram::cli::run_command(run);
    return engram::cli::info_command();
  } catch (const engram::Error& e) {
    std::fprintf(stderr, "engram: error: %s\n", e.what());
    return e.code() == engram::ErrorCode::internal ? 1 : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engram: internal error: %s\n", e.what());
    return 1;
  }
}
