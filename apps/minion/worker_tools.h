#pragma once
// `minion run`'s tool flags and the WorkerTools they build for the built-in workers.

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "minion/agents/builtin_workers.h"
#include "minion/agents/worker.h"
#include "minion/common/status.h"
#include "minion/llm/provider.h"
#include "minion/resilience/config.h"

namespace minion::cli {

struct ToolFlags {
  bool no_tools = false;
  std::string workspace;                // empty: <temp dir>/minion-workspaces
  std::string tools_file;               // external tools (JSON or YAML)
  std::vector<std::string> http_allow;  // hosts http_get may fetch; empty: no http_get
  bool http_allow_private = false;      // let http_get reach private/loopback addresses
  std::string storage;                  // SQLite file for the storage tools; empty: memory
  int max_tool_rounds = 8;
};

void AddToolFlags(CLI::App* command, ToolFlags* flags);

// Null when --no-tools. Errors name the flag (a workspace that cannot be created, a bad tools
// file, a storage file that cannot be opened).
Result<std::shared_ptr<const agents::WorkerTools>> BuildWorkerTools(const ToolFlags& flags);

// `--workers FILE` (agents/worker_config.h): the workers the file declares, replacing the
// default five. A worker naming a provider or model gets its own provider, made like the
// default one from the MINION_LLM_* environment with those two values overridden, and guarded
// by the same resilience settings. Errors name the file, the entry and the field.
Result<std::vector<std::shared_ptr<agents::Worker>>> BuildWorkersFromFile(
    const std::string& path, std::shared_ptr<llm::Provider> default_provider,
    const resilience::ResilienceConfig& resilience,
    std::shared_ptr<const agents::WorkerTools> tools, agents::WorkerOptions options);

}  // namespace minion::cli
