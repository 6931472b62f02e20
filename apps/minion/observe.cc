#include "observe.h"

#include <CLI/CLI.hpp>

#include <map>

#include "minion/agents/coordinator.h"
#include "minion/llm/guarded_provider.h"
#include "minion/logging/logging.h"

namespace minion::cli {

void AddObserveFlags(CLI::App& command, ObserveFlags& flags) {
  command
      .add_option("--log-format", flags.log_format, "Log lines as json or text (MINION_LOG_FORMAT)")
      ->check(CLI::IsMember({"json", "text"}));
  command.add_option("--log-level", flags.log_level,
                     "trace, debug, info, warn, error or off (MINION_LOG_LEVEL)");
  command.add_option("--log-file", flags.log_file,
                     "Append log lines to this file instead of stderr (MINION_LOG_FILE)");
  command.add_option("--metrics-file", flags.metrics_file,
                     "Write the Prometheus exposition of this run's metrics to this file at exit");
  command
      .add_option("--resilience", flags.resilience_file,
                  "YAML file configuring circuit breakers, rate limits and bulkheads (default: "
                  "safe built-in values)")
      ->check(CLI::ExistingFile);
}

Result<resilience::ResilienceConfig> LoadResilience(const ObserveFlags& flags) {
  if (flags.resilience_file.empty()) return resilience::ResilienceConfig{};
  return resilience::ResilienceConfig::FromFile(flags.resilience_file);
}

std::shared_ptr<llm::Provider> GuardProvider(std::shared_ptr<llm::Provider> provider,
                                             const resilience::ResilienceConfig& config) {
  const std::string name = "llm:" + provider->Name();
  llm::GuardOptions guard;
  if (config.llm.circuit_breaker) {
    guard.breaker = std::make_shared<resilience::CircuitBreaker>(name, *config.llm.circuit_breaker);
  }
  if (config.llm.rate_limiter) {
    guard.rate_limiter = std::make_shared<resilience::RateLimiter>(name, *config.llm.rate_limiter);
  }
  if (config.llm.bulkhead_max_concurrent) {
    guard.bulkhead =
        std::make_shared<resilience::Bulkhead>(name, *config.llm.bulkhead_max_concurrent);
  }
  return std::make_shared<llm::GuardedProvider>(std::move(provider), std::move(guard));
}

Status StartLogging(const ObserveFlags& flags) {
  auto options = logging::OptionsFromEnv();
  if (!options.ok()) return options.status();
  if (!flags.log_format.empty()) {
    auto format = logging::ParseFormat(flags.log_format);
    if (!format.ok()) return format.status().WithContext("--log-format");
    options->format = *format;
  }
  if (!flags.log_level.empty()) {
    auto level = logging::ParseLevel(flags.log_level);
    if (!level.ok()) return level.status().WithContext("--log-level");
    options->level = *level;
  }
  if (!flags.log_file.empty()) options->file = flags.log_file;
  return logging::Init(*options);
}

std::shared_ptr<metrics::PrometheusMetrics> StartMetrics() {
  auto m = std::make_shared<metrics::PrometheusMetrics>();
  metrics::SetGlobalRecorder(m);
  return m;
}

void WatchCoordinator(metrics::PrometheusMetrics& metrics, agents::Coordinator& coordinator) {
  metrics.AddCollectHook([&coordinator](metrics::PrometheusMetrics& m) {
    const agents::CoordinatorStats stats = coordinator.Stats();
    m.SetPendingTasks(static_cast<double>(stats.tasks_in_flight));
    std::map<std::string, double> by_status = {
        {"idle", 0}, {"busy", 0}, {"failed", 0}, {"offline", 0}};
    double active = 0;
    for (const auto& w : coordinator.ListWorkers()) {
      by_status[std::string(agents::WorkerStatusName(w.status))] += 1;
      if (w.status == agents::WorkerStatus::kIdle || w.status == agents::WorkerStatus::kBusy)
        active += 1;
      if (auto worker = coordinator.registry().Find(w.agent_id)) {
        m.SetQueueDepth(w.agent_id, static_cast<double>(worker->in_flight()));
      }
    }
    for (const auto& [status, n] : by_status) m.SetWorkers(status, n);
    m.SetActiveWorkers(active);
    if (auto tasks = coordinator.ledger().Tasks(); tasks.ok()) {
      double steps = 0;
      for (const auto& t : *tasks) {
        if (auto s = coordinator.ledger().Steps(t.task_id); s.ok())
          steps += static_cast<double>(s->size());
      }
      m.SetLedgerSizes(static_cast<double>(tasks->size()), steps);
    }
    const agents::HealthState health = coordinator.HealthCheck().overall;
    m.SetHealth(health == agents::HealthState::kHealthy    ? 1
                : health == agents::HealthState::kDegraded ? 0.5
                                                           : 0);
    const logging::LoggingStats log = logging::Stats();
    m.SetLogStats(log.lines, log.dropped, log.suppressed);
  });
}

}  // namespace minion::cli
