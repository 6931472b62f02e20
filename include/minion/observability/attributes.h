#pragma once
// The attribute keys and span names minion's instrumentation writes: the names the design
// document behind minion ("the seed", see docs/architecture.md) fixes for the multi-agent
// runtime, plus the few of our own. Header only and free of dependencies, so the SDK's
// processors and exporters (tail sampling, stdout) can read the same keys the instrumentation
// writes without depending on it. Every other file spells these names through this header.

#include <string_view>

namespace minion::observability {

// ---- Attribute keys of the multi-agent runtime (the seed's, exactly) ----
inline constexpr std::string_view kAttrTaskID = "multiagent.task.id";
inline constexpr std::string_view kAttrTaskName = "multiagent.task.name";
inline constexpr std::string_view kAttrTaskType = "multiagent.task.type";
inline constexpr std::string_view kAttrTaskPriority = "multiagent.task.priority";
inline constexpr std::string_view kAttrWorkerID = "multiagent.worker.id";
inline constexpr std::string_view kAttrWorkerCapability = "multiagent.worker.capability";
inline constexpr std::string_view kAttrMessageType = "multiagent.message.type";
inline constexpr std::string_view kAttrMessageID = "multiagent.message.id";
inline constexpr std::string_view kAttrOrchestratorID = "multiagent.orchestrator.id";
inline constexpr std::string_view kAttrSubtaskCount = "multiagent.subtask.count";
inline constexpr std::string_view kAttrOperation = "operation";

// ---- minion's own keys ----
// The seed's SpanKind (multiagent/worker/protocol/llm/tool/storage) is a component label, not
// an OpenTelemetry span kind; it travels under this key so the two never collide.
inline constexpr std::string_view kAttrComponent = "minion.component";
// Set on a span whose trace must survive tail sampling even if the task ends well: e.g. a
// subtask attempt failed (possibly in another process, whose half of the trace is kept for
// its error) and a retry then succeeded. The tail-sampling processor keeps such a trace.
inline constexpr std::string_view kAttrTailKeep = "minion.tail.keep";
// On a resumed task's span (`minion resume`) and on its link to the interrupted task span: the
// task id it continues; and how many finished subtasks it reused instead of running again.
inline constexpr std::string_view kAttrResumeOfTask = "minion.resume.of_task";
inline constexpr std::string_view kAttrResumeReusedSubtasks = "minion.resume.reused_subtasks";
// Roll-ups of the LLM calls under a worker span (one subtask attempt) or a task span (every
// accepted reply of every attempt). Deliberately not gen_ai.usage.*: a backend summing that over
// a trace would count each token again for every level it appears on (docs/usage.md).
inline constexpr std::string_view kAttrUsageInputTokens = "minion.usage.input_tokens";
inline constexpr std::string_view kAttrUsageOutputTokens = "minion.usage.output_tokens";
inline constexpr std::string_view kAttrUsageLlmCalls = "minion.usage.llm_calls";
inline constexpr std::string_view kAttrUsageCostUsd = "minion.usage.cost_usd";

// ---- OpenTelemetry semantic-convention keys the helpers set ----
inline constexpr std::string_view kAttrGenAiOperationName = "gen_ai.operation.name";
inline constexpr std::string_view kAttrGenAiProviderName = "gen_ai.provider.name";
inline constexpr std::string_view kAttrGenAiRequestModel = "gen_ai.request.model";
inline constexpr std::string_view kAttrGenAiToolName = "gen_ai.tool.name";
inline constexpr std::string_view kAttrDbOperationName = "db.operation.name";
inline constexpr std::string_view kAttrDbSystemName = "db.system.name";

// ---- Span names: a prefix plus the variable part ----
inline constexpr std::string_view kSpanMultiAgentTaskPrefix = "multiagent.task.";  // + task type
inline constexpr std::string_view kSpanWorkerPrefix = "worker.";                   // + capability
inline constexpr std::string_view kSpanProtocolPrefix = "protocol.";               // + operation
inline constexpr std::string_view kSpanOrchestratorPrefix = "orchestrator.";       // + operation
inline constexpr std::string_view kSpanLlmPrefix = "llm.";          // + provider "." model
inline constexpr std::string_view kSpanToolPrefix = "tool.";        // + tool name
inline constexpr std::string_view kSpanStoragePrefix = "storage.";  // + operation

// The seed's component labels, the values of kAttrComponent.
enum class Component { kMultiAgent, kWorker, kProtocol, kLlm, kTool, kStorage };

constexpr std::string_view ComponentName(Component component) {
  switch (component) {
    case Component::kMultiAgent:
      return "multiagent";
    case Component::kWorker:
      return "worker";
    case Component::kProtocol:
      return "protocol";
    case Component::kLlm:
      return "llm";
    case Component::kTool:
      return "tool";
    case Component::kStorage:
      return "storage";
  }
  return "multiagent";
}

}  // namespace minion::observability
