#include "worker_tools.h"

#include <filesystem>
#include <system_error>

#include "minion/agents/external_tool.h"
#include "minion/agents/worker_config.h"
#include "minion/common/env.h"
#include "minion/llm/factory.h"
#include "minion/observability/tracing.h"
#include "minion/storage/memory_storage.h"
#include "minion/storage/sqlite_storage.h"
#include "minion/tools/builtin.h"
#include "observe.h"

namespace minion::cli {

void AddToolFlags(CLI::App* command, ToolFlags* flags) {
  command->add_flag("--no-tools", flags->no_tools,
                    "Built-in workers only call the model (no tool loop)");
  command->add_option("--workspace", flags->workspace,
                      "Folder holding one workspace per task for write_file/read_file "
                      "(default: <temp dir>/minion-workspaces)");
  command->add_option("--tools-file", flags->tools_file,
                      "External tools declared in a JSON or YAML file (docs/tools.md)");
  command->add_option(
      "--http-allow", flags->http_allow,
      "Host http_get may fetch (repeatable; *.example.com for subdomains); none: no http_get");
  command->add_flag("--http-allow-private", flags->http_allow_private,
                    "Let http_get connect to loopback and private addresses too");
  command->add_option(
      "--tool-storage", flags->storage,
      "SQLite file behind storage_insert/get/query (default: in memory for this run)");
  command
      ->add_option("--max-tool-rounds", flags->max_tool_rounds,
                   "Model calls per subtask in the tool loop")
      ->check(CLI::PositiveNumber);
}

Result<std::shared_ptr<const agents::WorkerTools>> BuildWorkerTools(const ToolFlags& flags) {
  if (flags.no_tools) return std::shared_ptr<const agents::WorkerTools>();
  auto tools = std::make_shared<agents::WorkerTools>();
  std::filesystem::path base = flags.workspace;
  if (base.empty()) {
    std::error_code ec;
    base = std::filesystem::temp_directory_path(ec) / "minion-workspaces";
    if (ec)
      return FailedPreconditionError("--workspace: no temporary directory (" + ec.message() +
                                     "); give one");
  }
  std::error_code ec;
  std::filesystem::create_directories(base, ec);
  if (ec) return InvalidArgumentError("--workspace " + base.string() + ": " + ec.message());
  tools->workspace_base = std::filesystem::absolute(base, ec);
  if (flags.storage.empty()) {
    tools->storage = std::make_shared<storage::MemoryStorage>();
  } else {
    storage::SqliteStorageOptions options;
    options.path = flags.storage;
    auto opened = storage::SqliteStorage::Open(std::move(options));
    if (!opened.ok()) return opened.status().WithContext("--tool-storage");
    tools->storage = std::shared_ptr<storage::Storage>(std::move(opened).value());
  }
  if (!flags.http_allow.empty()) {
    tools::HttpGetOptions http;
    http.allowed_hosts = flags.http_allow;
    http.allow_public = true;
    http.allow_loopback = flags.http_allow_private;
    http.allow_private = flags.http_allow_private;
    tools->extra.push_back(tools::MakeHttpGetTool(std::move(http)));
  }
  if (!flags.tools_file.empty()) {
    auto specs = agents::LoadExternalTools(flags.tools_file);
    if (!specs.ok()) return specs.status().WithContext("--tools-file");
    for (auto& spec : *specs) tools->extra.push_back(agents::MakeExternalTool(std::move(spec)));
  }
  tools->max_rounds = flags.max_tool_rounds;
  return std::shared_ptr<const agents::WorkerTools>(std::move(tools));
}

Result<std::vector<std::shared_ptr<agents::Worker>>> BuildWorkersFromFile(
    const std::string& path, std::shared_ptr<llm::Provider> default_provider,
    const resilience::ResilienceConfig& resilience,
    std::shared_ptr<const agents::WorkerTools> tools, agents::WorkerOptions options) {
  auto specs = agents::LoadWorkersFile(path);
  if (!specs.ok()) return specs.status().WithContext("--workers");
  agents::WorkerBuildContext context;
  context.default_provider = std::move(default_provider);
  context.tools = std::move(tools);
  context.options = std::move(options);
  context.source = path;
  context.make_provider = [&resilience](
                              const std::string& provider,
                              const std::string& model) -> Result<std::shared_ptr<llm::Provider>> {
    // The same construction as the default provider, so the base URL, key and timeouts of the
    // environment apply; only the provider kind and the model come from the file.
    env::Lookup lookup = [&](std::string_view name) -> std::optional<std::string> {
      if (name == "MINION_LLM_PROVIDER" && !provider.empty()) return provider;
      if (name == "MINION_LLM_MODEL" && !model.empty()) return model;
      return env::Get(name);
    };
    auto made = llm::MakeProviderFromEnv(lookup);
    if (!made.ok()) return made.status();
    return GuardProvider(std::shared_ptr<llm::Provider>(std::move(made).value()), resilience);
  };
  return agents::BuildConfiguredWorkers(*specs, context);
}

}  // namespace minion::cli
