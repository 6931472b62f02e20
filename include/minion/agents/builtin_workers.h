#pragma once
// The five built-in worker kinds. Each answers its capabilities by asking an llm::Provider
// (whose `llm.<provider>.<model>` span becomes a child of the worker span).
//   coder:      code_generation, code_review, debugging, refactoring
//   analyst:    data_analysis, statistical_analysis, forecasting, visualization
//   researcher: research, information_gathering, synthesis, summarization
//   writer:     content_creation, editing, copywriting, technical_writing
//   reviewer:   code_review, content_review, quality_assurance, testing

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "minion/agents/worker.h"
#include "minion/llm/provider.h"
#include "minion/storage/storage.h"
#include "minion/tools/tool.h"
#include "minion/trace/tracer.h"

namespace minion::agents {

enum class BuiltinKind { kCoder, kAnalyst, kResearcher, kWriter, kReviewer };
inline constexpr BuiltinKind kAllBuiltinKinds[] = {BuiltinKind::kCoder, BuiltinKind::kAnalyst,
                                                   BuiltinKind::kResearcher, BuiltinKind::kWriter,
                                                   BuiltinKind::kReviewer};

std::string_view BuiltinRole(BuiltinKind kind);  // "coder", "analyst", ...
const std::vector<std::string>& BuiltinCapabilities(BuiltinKind kind);

// The tools built-in workers may call through the tool loop (agents/tool_loop.h). One value is
// shared by every worker made with it; each subtask gets its own ToolRegistry over it.
struct WorkerTools {
  // write_file / read_file confined to <workspace_base>/<task id> (tools::TaskWorkspace);
  // write_file only for the coder. Empty: no file tools.
  std::filesystem::path workspace_base;
  // storage_insert / storage_get / storage_query over this storage; null: none.
  std::shared_ptr<storage::Storage> storage;
  // More tools offered to every kind (http_get with its allow-list, external tools).
  std::vector<std::shared_ptr<tools::Tool>> extra;
  int max_rounds = 8;  // the loop's round limit
  // When set, exactly the tools of these names are offered (write_file too, whatever the kind),
  // the others are not registered at all, so a call to one is the loop's "unknown tool" error.
  // Unset: the kind's defaults above. (worker_config.h sets it from a worker's `tools`.)
  std::optional<std::vector<std::string>> only;
  // Where tool spans go; null: observability::GetTracer() at each call.
  std::shared_ptr<trace::Tracer> tracer;
};

// The handler a built-in worker uses: a system prompt for its role and the subtask's
// capability, the subtask (description, input, dependency outputs) as the user message.
// Output: {"text", "provider", "model", "input_tokens", "output_tokens", "finish_reason"}.
// With `tools`, the model may call them (calculator always; file and storage tools as
// configured) and the output adds "rounds", "tool_calls" [{name, ok}], and, when files were
// written, "workspace" and "files" (absolute paths); tokens are summed over the rounds.
std::unique_ptr<TaskHandler> MakeLlmTaskHandler(BuiltinKind kind,
                                                std::shared_ptr<llm::Provider> provider,
                                                std::shared_ptr<const WorkerTools> tools = nullptr);

// A worker of `kind` with id `agent_id` (default "<role>-1").
std::shared_ptr<Worker> MakeBuiltinWorker(BuiltinKind kind, std::shared_ptr<llm::Provider> provider,
                                          std::string agent_id = {}, WorkerOptions options = {},
                                          std::shared_ptr<const WorkerTools> tools = nullptr);

}  // namespace minion::agents
