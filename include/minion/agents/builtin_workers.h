#pragma once
// The five built-in worker kinds. Each answers its capabilities by asking an llm::Provider
// (whose `llm.<provider>.<model>` span becomes a child of the worker span).
//   coder:      code_generation, code_review, debugging, refactoring
//   analyst:    data_analysis, statistical_analysis, forecasting, visualization
//   researcher: research, information_gathering, synthesis, summarization
//   writer:     content_creation, editing, copywriting, technical_writing
//   reviewer:   code_review, content_review, quality_assurance, testing

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "minion/agents/worker.h"
#include "minion/llm/provider.h"

namespace minion::agents {

enum class BuiltinKind { kCoder, kAnalyst, kResearcher, kWriter, kReviewer };
inline constexpr BuiltinKind kAllBuiltinKinds[] = {BuiltinKind::kCoder, BuiltinKind::kAnalyst,
                                                   BuiltinKind::kResearcher, BuiltinKind::kWriter,
                                                   BuiltinKind::kReviewer};

std::string_view BuiltinRole(BuiltinKind kind);  // "coder", "analyst", ...
const std::vector<std::string>& BuiltinCapabilities(BuiltinKind kind);

// The handler a built-in worker uses: a system prompt for its role and the subtask's
// capability, the subtask (description, input, dependency outputs) as the user message.
// Output: {"text", "provider", "model", "input_tokens", "output_tokens", "finish_reason"}.
std::unique_ptr<TaskHandler> MakeLlmTaskHandler(BuiltinKind kind, std::shared_ptr<llm::Provider> provider);

// A worker of `kind` with id `agent_id` (default "<role>-1").
std::shared_ptr<Worker> MakeBuiltinWorker(BuiltinKind kind, std::shared_ptr<llm::Provider> provider,
                                          std::string agent_id = {}, WorkerOptions options = {});

}  // namespace minion::agents
