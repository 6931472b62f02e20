#include "observe.h"

#include <CLI/CLI.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <map>
#include <span>
#include <vector>

#include "minion/agents/coordinator.h"
#include "minion/llm/guarded_provider.h"
#include "minion/logging/logging.h"
#include "minion/sdk/batch_span_processor.h"

namespace minion::cli {
namespace {

// Outcomes of the export calls one exporter made, shared by its TimedExporter and the
// collect hook.
struct ExportTally {
  std::atomic<std::uint64_t> failed_calls{0};
};

// Forwards to the real exporter and records each call's duration and outcome: the batch
// processor's own calls, not a second count of spans.
class TimedExporter final : public sdk::SpanExporter {
 public:
  TimedExporter(std::unique_ptr<sdk::SpanExporter> inner, std::string label,
                std::shared_ptr<metrics::PrometheusMetrics> metrics,
                std::shared_ptr<ExportTally> tally)
      : inner_(std::move(inner)),
        label_(std::move(label)),
        metrics_(std::move(metrics)),
        tally_(std::move(tally)) {}

  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans,
                           std::chrono::milliseconds timeout) noexcept override {
    const auto start = std::chrono::steady_clock::now();
    const sdk::ExportResult result = inner_->Export(spans, timeout);
    metrics_->ExportDuration(
        label_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (result == sdk::ExportResult::kFailure)
      tally_->failed_calls.fetch_add(1, std::memory_order_relaxed);
    return result;
  }
  Status ForceFlush(std::chrono::milliseconds timeout) noexcept override {
    return inner_->ForceFlush(timeout);
  }
  Status Shutdown(std::chrono::milliseconds timeout) noexcept override {
    return inner_->Shutdown(timeout);
  }
  std::string Name() const override { return inner_->Name(); }

 private:
  std::unique_ptr<sdk::SpanExporter> inner_;
  const std::string label_;
  const std::shared_ptr<metrics::PrometheusMetrics> metrics_;
  const std::shared_ptr<ExportTally> tally_;
};

// The provider owns its processors by unique_ptr; this hands it one whose batch processor the
// collect hook can also reach (weakly: once the provider is gone, the hook skips it).
class SharedBatchProcessor final : public sdk::SpanProcessor {
 public:
  explicit SharedBatchProcessor(std::shared_ptr<sdk::BatchSpanProcessor> inner)
      : inner_(std::move(inner)) {}
  bool WantsOnStart() const noexcept override { return inner_->WantsOnStart(); }
  void OnStart(trace::SpanData& span, const trace::Context& parent) noexcept override {
    inner_->OnStart(span, parent);
  }
  void OnEnd(trace::SpanDataPtr span) noexcept override { inner_->OnEnd(std::move(span)); }
  Status ForceFlush(std::chrono::milliseconds timeout) noexcept override {
    return inner_->ForceFlush(timeout);
  }
  Status Shutdown(std::chrono::milliseconds timeout) noexcept override {
    return inner_->Shutdown(timeout);
  }

 private:
  std::shared_ptr<sdk::BatchSpanProcessor> inner_;
};

std::vector<std::string> ExporterNames(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string item(list.substr(0, comma));
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    for (char& c : item) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

Status InitTracing(observability::TracingConfig config,
                   const std::shared_ptr<metrics::PrometheusMetrics>& metrics) {
  if (!metrics || !config.enabled) return observability::InitGlobalTracer(config);
  struct Watched {
    std::string label;
    std::weak_ptr<sdk::BatchSpanProcessor> processor;
    std::shared_ptr<ExportTally> tally;
  };
  std::vector<Watched> watched;
  std::vector<std::unique_ptr<sdk::SpanProcessor>> processors;
  const sdk::BatchSpanProcessorOptions batch_options = sdk::BatchSpanProcessorOptions::FromEnv();
  std::map<std::string, int> seen;
  for (const std::string& name : ExporterNames(config.exporter)) {
    if (name == "none") continue;
    auto exporter = observability::MakeExporter(name, config);
    if (!exporter.ok()) return exporter.status().WithContext("tracing exporter");
    std::string label = (*exporter)->Name();
    if (int n = seen[label]++; n > 0) label += "-" + std::to_string(n + 1);  // two of a kind
    auto tally = std::make_shared<ExportTally>();
    auto processor = std::make_shared<sdk::BatchSpanProcessor>(
        std::make_unique<TimedExporter>(std::move(*exporter), label, metrics, tally),
        batch_options);
    watched.push_back({label, processor, tally});
    processors.push_back(std::make_unique<SharedBatchProcessor>(std::move(processor)));
  }
  config.exporter = "none";  // built above
  if (Status s = observability::InitGlobalTracer(config, std::move(processors)); !s.ok()) return s;
  metrics->AddCollectHook([watched = std::move(watched)](metrics::PrometheusMetrics& m) {
    for (const Watched& w : watched) {
      const auto processor = w.processor.lock();
      if (!processor) continue;
      const sdk::BatchSpanProcessorStats s = processor->stats();
      metrics::ExporterHealth h;
      h.spans_exported = s.exported;
      h.spans_dropped = s.dropped + s.export_failures;
      h.export_failures = w.tally->failed_calls.load(std::memory_order_relaxed);
      const std::uint64_t settled = s.exported + s.export_failures;
      h.queue_size = s.enqueued > settled ? s.enqueued - settled : 0;
      m.SetExporterHealth(w.label, h);
    }
  });
  return Status::Ok();
}

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
