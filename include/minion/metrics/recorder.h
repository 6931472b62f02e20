#pragma once
// Recorder: the runtime's metric events, as the instrumented code (agents, llm, tools,
// storage, resilience) reports them. The libraries call the process-wide recorder through
// GlobalRecorder(); it is a null object (every method a no-op) until the program installs a
// concrete one (metrics::PrometheusMetrics, wired in apps/minion), so the libraries never
// depend on a metrics backend. Like the global tracer provider, this is the one documented
// process-wide instance of its kind.
//
// Label values are bounded by design: statuses and error types come from small fixed sets
// (StatusCode names), names come from configuration (providers, models, tools, workers).
// Task ids and message ids are never labels. Implementations must be thread-safe and cheap;
// callers may call on every message.

#include <cstdint>
#include <memory>
#include <string_view>

namespace minion::metrics {

class Recorder {
 public:
  virtual ~Recorder() = default;

  // --- multiagent (coordinator, orchestrator, protocol) ---
  virtual void TaskStarted() {}
  // `status`: "succeeded" or "failed".
  virtual void TaskFinished(std::string_view /*type*/, std::string_view /*status*/,
                            double /*seconds*/) {}
  // `direction`: "sent" or "received".
  virtual void Message(std::string_view /*type*/, std::string_view /*direction*/) {}
  virtual void MessageLatency(std::string_view /*type*/, double /*seconds*/) {}
  // An error outside a more specific family ("orchestrator", "protocol", ...).
  virtual void Error(std::string_view /*component*/, std::string_view /*error_type*/) {}
  // A worker registered ("registered"), unregistered ("unregistered") or failed ("failed").
  virtual void WorkerEvent(std::string_view /*status*/) {}

  // --- agents (workers) ---
  // `status`: "succeeded" or "failed"; `agent_name` is the worker's role.
  virtual void AgentExecution(std::string_view /*agent_id*/, std::string_view /*agent_name*/,
                              std::string_view /*status*/, double /*seconds*/) {}
  virtual void AgentError(std::string_view /*agent_id*/, std::string_view /*error_type*/) {}

  // --- llm ---
  // `status`: "success" or "error"; cost in US dollars (0 when unknown).
  virtual void LlmRequest(std::string_view /*provider*/, std::string_view /*model*/,
                          std::string_view /*status*/, double /*seconds*/,
                          std::int64_t /*input_tokens*/, std::int64_t /*output_tokens*/,
                          double /*cost*/) {}
  virtual void LlmError(std::string_view /*provider*/, std::string_view /*model*/,
                        std::string_view /*error_type*/) {}
  // The priced cost of a finished task's calls to `model`, in US dollars (the usage meter's
  // tokens times the price table: Coordinator with CoordinatorOptions::prices). Only known
  // costs are reported; a model without a price is never counted as 0.
  virtual void LlmCost(std::string_view /*provider*/, std::string_view /*model*/, double /*usd*/) {}

  // --- tools ---
  virtual void ToolCall(std::string_view /*tool_name*/, std::string_view /*status*/,
                        double /*seconds*/) {}
  virtual void ToolError(std::string_view /*tool_name*/, std::string_view /*error_type*/) {}

  // --- storage ---
  virtual void StorageOperation(std::string_view /*operation*/, std::string_view /*table*/,
                                std::string_view /*status*/, double /*seconds*/) {}
  virtual void StorageError(std::string_view /*operation*/, std::string_view /*error_type*/) {}

  // --- resilience ---
  // States: 0 closed, 1 half-open, 2 open (the gauge's value).
  virtual void BreakerState(std::string_view /*name*/, int /*state*/) {}
  virtual void BreakerTransition(std::string_view /*name*/, std::string_view /*from*/,
                                 std::string_view /*to*/) {}
  // `reason`: "open", "half_open_full".
  virtual void BreakerRejection(std::string_view /*name*/, std::string_view /*reason*/) {}
  // `outcome`: "retried", "budget_exhausted", "deadline".
  virtual void Retry(std::string_view /*name*/, std::string_view /*outcome*/) {}
  virtual void RateLimited(std::string_view /*name*/) {}
  virtual void BulkheadRejection(std::string_view /*name*/) {}
};

// The installed recorder, or the null one. The reference stays valid for the process's life
// (replaced recorders are kept alive), so callers need not hold anything.
Recorder& GlobalRecorder() noexcept;
// Installs `recorder` (null: back to the null recorder).
void SetGlobalRecorder(std::shared_ptr<Recorder> recorder);

// "OK", "NOT_FOUND", ... lowercased ("not_found"): the error_type label for a StatusCode value.
std::string_view ErrorType(int status_code) noexcept;

}  // namespace minion::metrics
