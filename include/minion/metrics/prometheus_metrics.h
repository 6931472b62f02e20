#pragma once
// PrometheusMetrics: the concrete Recorder, on prometheus-cpp's core registry, with the metric
// families of the Go original (same names and labels, so its dashboards carry over) plus the
// tracing pipeline's health and the resilience metrics. Serialize() renders the Prometheus
// text exposition format (0.0.4) through prometheus-cpp's TextSerializer; the program serves it
// from its HTTP listener or writes it to a file (`minion run --metrics-file`).
//
// Cardinality is bounded: each family keeps at most `max_series_per_family` label sets; once
// full, new label values are folded into the value "other". Label values are cut to 128 bytes
// and bytes outside printable ASCII become '_', so nothing a model or a user names can break
// the exposition. Thread-safe; the hot path (a series already seen) takes a shared lock and an
// atomic add.
//
// Gauges that describe state (workers, queue depths, ledgers, health, exporter queues) are set
// by collect hooks that run at the start of every Serialize(), reading the runtime then.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "minion/common/status.h"
#include "minion/metrics/recorder.h"

namespace prometheus {
class Registry;
}

namespace minion::metrics {

// Cumulative counts of one span exporter (and the processor that feeds it).
struct ExporterHealth {
  std::uint64_t spans_exported = 0;
  std::uint64_t spans_dropped = 0;    // refused by a full queue, or lost in failed batches
  std::uint64_t export_failures = 0;  // Export calls that failed
  std::uint64_t queue_size = 0;       // spans waiting now
};

// Cumulative counts of a `minion worker` process (its Worker and its transport).
struct WorkerProcessStats {
  std::uint64_t handled = 0;        // subtasks finished, failures included
  std::uint64_t failed = 0;         // subtasks that ended in an error
  std::uint64_t in_flight = 0;      // subtasks running now (a gauge)
  std::uint64_t redelivered = 0;    // deliveries of an entry delivered before
  std::uint64_t dead_lettered = 0;  // entries moved to the dead-letter stream
  std::uint64_t reconnects = 0;     // transport reconnections
};

struct PrometheusMetricsOptions {
  std::size_t max_series_per_family = 500;
};

class PrometheusMetrics final : public Recorder {
 public:
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  explicit PrometheusMetrics(PrometheusMetricsOptions options = {});
  ~PrometheusMetrics() override;
  PrometheusMetrics(const PrometheusMetrics&) = delete;
  PrometheusMetrics& operator=(const PrometheusMetrics&) = delete;

  // Recorder
  void TaskStarted() override;
  void TaskFinished(std::string_view type, std::string_view status, double seconds) override;
  void Message(std::string_view type, std::string_view direction) override;
  void MessageLatency(std::string_view type, double seconds) override;
  void Error(std::string_view component, std::string_view error_type) override;
  void WorkerEvent(std::string_view status) override;
  void AgentExecution(std::string_view agent_id, std::string_view agent_name,
                      std::string_view status, double seconds) override;
  void AgentError(std::string_view agent_id, std::string_view error_type) override;
  void LlmRequest(std::string_view provider, std::string_view model, std::string_view status,
                  double seconds, std::int64_t input_tokens, std::int64_t output_tokens,
                  double cost) override;
  void LlmError(std::string_view provider, std::string_view model,
                std::string_view error_type) override;
  void LlmCost(std::string_view provider, std::string_view model, double usd) override;
  void ToolCall(std::string_view tool_name, std::string_view status, double seconds) override;
  void ToolError(std::string_view tool_name, std::string_view error_type) override;
  void StorageOperation(std::string_view operation, std::string_view table, std::string_view status,
                        double seconds) override;
  void StorageError(std::string_view operation, std::string_view error_type) override;
  void BreakerState(std::string_view name, int state) override;
  void BreakerTransition(std::string_view name, std::string_view from,
                         std::string_view to) override;
  void BreakerRejection(std::string_view name, std::string_view reason) override;
  void Retry(std::string_view name, std::string_view outcome) override;
  void RateLimited(std::string_view name) override;
  void BulkheadRejection(std::string_view name) override;

  // State gauges (usually from a collect hook).
  void SetActiveWorkers(double n);
  void SetPendingTasks(double n);
  void SetWorkers(std::string_view status, double n);  // minion_multiagent_workers{status}
  void SetQueueDepth(std::string_view agent_id, double n);
  void SetLedgerSizes(double task_ledger, double progress_ledger);
  // 1 healthy, 0.5 degraded, 0 unhealthy.
  void SetHealth(double value);
  // Cumulative exporter counts; the counters advance by the difference to the last call.
  void SetExporterHealth(std::string_view exporter, const ExporterHealth& health);
  // One Export call of `exporter` took `seconds` (minion_tracing_export_duration_seconds).
  void ExportDuration(std::string_view exporter, double seconds);
  // Cumulative worker-process counts; counters advance by the difference to the last call.
  void SetWorkerStats(std::string_view agent_id, const WorkerProcessStats& stats);
  // Cumulative logging counts (logging::Stats()).
  void SetLogStats(std::uint64_t lines, std::uint64_t dropped, std::uint64_t suppressed);

  using CollectHook = std::function<void(PrometheusMetrics&)>;
  void AddCollectHook(CollectHook hook);

  // Runs the collect hooks, then renders the registry.
  std::string Serialize();
  // Serialize() into `path` (written to a temporary file, then renamed).
  Status WriteFile(const std::string& path);

  prometheus::Registry& registry();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace minion::metrics
