#pragma once
// Workers declared in a file (`minion run --workers FILE`): which workers exist, what each one
// answers, which model and tools it uses, how many subtasks it takes at once. The file replaces
// the default set of five built-in workers. YAML (or JSON, by extension or first byte):
//
//   workers:
//     - name: coder-1              # optional; the agent id, [A-Za-z0-9._-]{1,64}, unique
//       kind: coder                # coder | analyst | researcher | writer | reviewer
//       capabilities: [code_generation, debugging]   # optional for a kind: its own list
//       provider: openai           # optional: offline | openai | ollama | vllm | llamacpp
//       model: gpt-4o              # optional: this worker's model
//       tools: [write_file, calculator]              # optional: exactly these tools
//       concurrency: 2             # optional, 1..256, default 4
//       priority: 5                # optional, 1..10: higher wins when workers share a capability
//     - name: notes
//       command: [./notes.sh, --short]               # an external program instead of a kind
//       capabilities: [release_notes]                # required for a command
//       timeout_ms: 10000          # optional, command only
//
// Each entry has either `kind` or `command`. provider/model/tools only apply to a kind; a
// command worker gets the subtask as JSON on stdin and answers JSON on stdout
// (external_worker.h). A relative command path with a '/' (./notes.sh) is relative to the
// file's folder, not to the caller's working directory. Validation happens here, before
// anything starts: unknown keys, wrong types, empty capabilities, duplicate names, unknown
// kinds and providers are InvalidArgument naming the file, the entry and the field. Tool names
// are checked against the tools the run actually offers in BuildConfiguredWorkers.
// The file is read through the agents' bounded YAML loader: at most 1 MiB, and aliases are
// expanded under a node budget, so an alias bomb is an error.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "minion/agents/builtin_workers.h"
#include "minion/agents/worker.h"
#include "minion/common/status.h"
#include "minion/llm/provider.h"

namespace minion::agents {

inline constexpr std::size_t kMaxWorkersFileBytes = 1u << 20;
inline constexpr std::size_t kMaxConfiguredWorkers = 64;
inline constexpr int kMaxWorkerConcurrency = 256;

struct WorkerSpec {
  std::string name;                       // the agent id (a default is filled in when absent)
  std::optional<BuiltinKind> kind;        // set, or `command` is non-empty
  std::vector<std::string> command;       // argv of an external worker; no shell
  std::vector<std::string> capabilities;  // never empty after parsing
  std::string provider;                   // empty: the run's default provider
  std::string model;                      // empty: the provider's default model
  std::optional<std::vector<std::string>> tools;  // unset: the kind's default tool set
  int concurrency = 4;
  int priority = 5;
  std::chrono::milliseconds timeout{30000};  // command workers only
};

// Parses the document. `source` names the file in error messages ("workers.yaml: workers[2]
// (notes): 'concurrency' must be an integer from 1 to 256"). `base_dir` resolves relative
// command paths. Default names: "<kind>-<n>" (n counts that kind) or "external-<n>".
Result<std::vector<WorkerSpec>> ParseWorkersYaml(std::string_view text, std::string_view source,
                                                 const std::filesystem::path& base_dir = {});
Result<std::vector<WorkerSpec>> ParseWorkersJson(std::string_view text, std::string_view source,
                                                 const std::filesystem::path& base_dir = {});
// Reads `path` (at most kMaxWorkersFileBytes): JSON for .json, YAML for .yaml/.yml, otherwise by
// its first non-blank byte; relative command paths are resolved against its folder.
Result<std::vector<WorkerSpec>> LoadWorkersFile(const std::filesystem::path& path);

// The names of the tools a built-in worker could be offered with `tools` (null: none): what
// BuildConfiguredWorkers accepts in WorkerSpec::tools.
std::vector<std::string> AvailableToolNames(const WorkerTools* tools);

// What the workers are built with. make_provider(provider, model) returns the provider for a
// worker that names one or both (never called when both are empty: default_provider is used).
struct WorkerBuildContext {
  std::shared_ptr<llm::Provider> default_provider;
  std::function<Result<std::shared_ptr<llm::Provider>>(const std::string& provider,
                                                       const std::string& model)>
      make_provider;
  std::shared_ptr<const WorkerTools> tools;  // null: built-in workers only call the model
  WorkerOptions options;                     // tracer and clock; concurrency comes from the spec
  std::string source;                        // the file, for error messages
};

// Builds one Worker per spec. InvalidArgument when a spec names a tool the run does not offer
// (the message lists the ones it does) or lists tools while the run has none (--no-tools);
// make_provider's errors are returned with the entry named.
Result<std::vector<std::shared_ptr<Worker>>> BuildConfiguredWorkers(
    const std::vector<WorkerSpec>& specs, const WorkerBuildContext& context);

}  // namespace minion::agents
