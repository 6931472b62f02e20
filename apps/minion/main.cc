// `minion`: one program, one subcommand per job. Thin on purpose: each subcommand parses its
// flags, wires the concrete pieces together and calls the library (see commands.h).
#include <CLI/CLI.hpp>

#include <vector>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"minion: a multi-agent runtime with OpenTelemetry-compatible distributed tracing"};
  app.require_subcommand(1);
  app.footer("Run `minion <subcommand> --help` for the flags and variables of each subcommand.");
  std::vector<minion::cli::Command> commands;
  commands.push_back(minion::cli::AddRunCommand(app));
  commands.push_back(minion::cli::AddServeCommand(app));
  commands.push_back(minion::cli::AddWorkerCommand(app));
  commands.push_back(minion::cli::AddWorkersCommand(app));
  CLI11_PARSE(app, argc, argv);
  for (const auto& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return 2;
}
