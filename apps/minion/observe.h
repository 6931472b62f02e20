#pragma once
// Flags and wiring shared by the subcommands that run the runtime: logging (--log-format,
// --log-level, --log-file over MINION_LOG_*) and Prometheus metrics (the process-wide
// recorder, gauges read from a Coordinator at each collection, --metrics-file).

#include <memory>
#include <string>

#include "minion/common/status.h"
#include "minion/llm/provider.h"
#include "minion/metrics/prometheus_metrics.h"
#include "minion/observability/setup.h"
#include "minion/resilience/config.h"

namespace CLI {
class App;
}
namespace minion::agents {
class Coordinator;
}

namespace minion::cli {

struct ObserveFlags {
  std::string log_format;       // empty: MINION_LOG_FORMAT, else json
  std::string log_level;        // empty: MINION_LOG_LEVEL, else info
  std::string log_file;         // empty: MINION_LOG_FILE, else stderr
  std::string metrics_file;     // written at exit when set
  std::string resilience_file;  // YAML; empty: the safe defaults (resilience/config.h)
};

void AddObserveFlags(CLI::App& command, ObserveFlags& flags);

// The resilience configuration: --resilience FILE, else the defaults.
Result<resilience::ResilienceConfig> LoadResilience(const ObserveFlags& flags);

// `provider` behind its rate limiter, bulkhead and circuit breaker ("llm:<provider name>") as
// `config.llm` says, counted in the metrics recorder.
std::shared_ptr<llm::Provider> GuardProvider(std::shared_ptr<llm::Provider> provider,
                                             const resilience::ResilienceConfig& config);

// Starts the logger (flags over the environment). The error names the bad flag or variable.
Status StartLogging(const ObserveFlags& flags);

// Creates the Prometheus recorder and installs it as the global one.
std::shared_ptr<metrics::PrometheusMetrics> StartMetrics();

// observability::InitGlobalTracer(config), with each configured exporter's pipeline health in
// `metrics` (null: exactly InitGlobalTracer): every exporter is built here behind its own
// BatchSpanProcessor, and a collect hook reads that processor's counters (spans exported,
// lost, queued) and the export calls' outcomes and durations as they happen
// (minion_tracing_*{exporter="<exporter name>"}). The processors are handed to
// InitGlobalTracer, so sampling, tail sampling and shutdown are as for the plain setup.
Status InitTracing(observability::TracingConfig config,
                   const std::shared_ptr<metrics::PrometheusMetrics>& metrics);

// Adds a collect hook reading `coordinator`'s workers, tasks, ledger and health (and the
// logger's counters). Serialize only while `coordinator` runs (before its Shutdown: its ledger
// goes away then).
void WatchCoordinator(metrics::PrometheusMetrics& metrics, agents::Coordinator& coordinator);

}  // namespace minion::cli
