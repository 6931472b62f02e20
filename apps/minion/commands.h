#pragma once
// The `minion` program's subcommands. Each Add*Command registers its flags on the top-level
// CLI::App and returns the subcommand together with what to run once the command line parsed.
// One file per subcommand (run_command.cc, ...); main.cc only lists them.

#include <functional>

namespace CLI {
class App;
}

namespace minion::cli {

struct Command {
  CLI::App* app = nullptr;   // the registered subcommand; owned by the top-level App
  std::function<int()> run;  // returns the process exit status
};

Command AddRunCommand(CLI::App& app);
Command AddResumeCommand(CLI::App& app);  // run_command.cc (shares run's flags)
Command AddServeCommand(CLI::App& app);
Command AddWorkerCommand(CLI::App& app);   // worker_command.cc
Command AddWorkersCommand(CLI::App& app);  // worker_command.cc
Command AddCoordinatorCommand(CLI::App& app);
Command AddRunsCommand(CLI::App& app);  // runs_command.cc

}  // namespace minion::cli
