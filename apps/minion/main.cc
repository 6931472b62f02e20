// `minion`: one program, one subcommand per job. Thin on purpose: each subcommand parses its
// flags, wires the concrete pieces together and calls the library (see commands.h).
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "minion/common/text.h"

int main(int argc, char** argv) {
  CLI::App app{"minion: a multi-agent runtime with OpenTelemetry-compatible distributed tracing"};
  app.require_subcommand(1);
  app.footer("Run `minion <subcommand> --help` for the flags and variables of each subcommand.");
  std::vector<minion::cli::Command> commands;
  commands.push_back(minion::cli::AddRunCommand(app));
  commands.push_back(minion::cli::AddResumeCommand(app));
  commands.push_back(minion::cli::AddServeCommand(app));
  commands.push_back(minion::cli::AddWorkerCommand(app));
  commands.push_back(minion::cli::AddWorkersCommand(app));
  commands.push_back(minion::cli::AddRunsCommand(app));
#ifdef MINION_HAVE_COORDINATOR
  commands.push_back(minion::cli::AddCoordinatorCommand(app));
#endif
  // A first word that is not an option must name a subcommand; say which one was not found
  // (CLI11 would only say that an argument was not expected).
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string names;
    for (const auto& command : commands) {
      known = known || command.app->check_name(argv[1]);
      names += (names.empty() ? "" : ", ") + command.app->get_name();
    }
    if (!known) {
      std::cerr << "minion: unknown subcommand '" << minion::text::EscapeControl(argv[1])
                << "' (want one of: " << names << "); run `minion --help`\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; every real parse error exits 2, as
    // the help text promises (CLI11's own codes are 104-109 and differ per kind).
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  for (const auto& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return 2;
}
