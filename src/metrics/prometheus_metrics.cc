#include "minion/metrics/prometheus_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace minion::metrics {
namespace {

using prometheus::Counter;
using prometheus::Gauge;
using prometheus::Histogram;

constexpr std::size_t kMaxLabelValue = 128;

// Label values end up in the exposition: printable ASCII only, bounded length.
std::string CleanLabelValue(std::string_view v) {
  std::string out(v.substr(0, kMaxLabelValue));
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E) c = '_';
  }
  return out;
}

// One family plus a cache from label values to its series, so the hot path neither builds a
// std::map of labels nor takes the family's mutex. Bounded: past `max_series` new label
// combinations all share the series whose every label is "other".
template <class T>
class CachedFamily {
 public:
  template <class... Args>
  CachedFamily(prometheus::Family<T>& family, std::vector<std::string> label_names,
               std::size_t max_series, Args... args)
      : family_(family),
        names_(std::move(label_names)),
        max_series_(max_series),
        make_(MakeFactory(args...)) {}

  T& Get(std::initializer_list<std::string_view> values) {
    std::string key;
    for (std::string_view v : values) {
      key.append(v.data(), std::min(v.size(), kMaxLabelValue));
      key += '\x1f';
    }
    {
      std::shared_lock lock(mu_);
      auto it = cache_.find(key);
      if (it != cache_.end()) return *it->second;
    }
    std::unique_lock lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return *it->second;
    prometheus::Labels labels;
    std::size_t i = 0;
    const bool full = cache_.size() >= max_series_;
    for (std::string_view v : values) labels[names_[i++]] = full ? "other" : CleanLabelValue(v);
    T& metric = make_(family_, labels);
    if (!full) cache_.emplace(std::move(key), &metric);
    return metric;
  }

 private:
  using Factory = std::function<T&(prometheus::Family<T>&, const prometheus::Labels&)>;
  static Factory MakeFactory() {
    return [](prometheus::Family<T>& f, const prometheus::Labels& l) -> T& { return f.Add(l); };
  }
  static Factory MakeFactory(std::vector<double> buckets) {
    return [buckets](prometheus::Family<T>& f, const prometheus::Labels& l) -> T& {
      return f.Add(l, buckets);
    };
  }

  prometheus::Family<T>& family_;
  const std::vector<std::string> names_;
  const std::size_t max_series_;
  const Factory make_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, T*> cache_;  // guarded by mu_
};

// Buckets per family (seconds). Tasks and agents: milliseconds to minutes. LLM calls: tens of
// milliseconds to minutes. Messages cross an in-process queue in microseconds (a networked
// transport in milliseconds). Tools and storage: sub-millisecond to seconds.
const std::vector<double> kTaskBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                          2.5,   5,     10,   30,    60,   120, 300,  600};
const std::vector<double> kLlmBuckets = {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120};
const std::vector<double> kMessageBuckets = {1e-6, 5e-6,   1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
                                             1e-3, 2.5e-3, 5e-3, 1e-2,   5e-2, 0.1,  0.5,    1};
const std::vector<double> kToolBuckets = {1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2,
                                          0.1,  0.5,  1,    5,    10,   30};
// One export call: a local file in microseconds, a collector over the network in milliseconds,
// retries against a failing one up to the export timeout (30 s by default).
const std::vector<double> kExportBuckets = {1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.025, 0.05, 0.1,
                                            0.25, 0.5,  1,    2.5,  5,    10,    30};
const std::vector<double> kStorageBuckets = {1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3,
                                             1e-2, 5e-2, 0.1,  0.5,  1};

}  // namespace

struct PrometheusMetrics::Impl {
  explicit Impl(PrometheusMetricsOptions o)
      : options(o), registry(std::make_shared<prometheus::Registry>()) {}

  template <class Builder>
  auto& Reg(Builder&& b, const char* name, const char* help) {
    return b.Name(name).Help(help).Register(*registry);
  }
  CachedFamily<Counter> Counters(const char* name, const char* help,
                                 std::vector<std::string> labels) {
    return CachedFamily<Counter>(Reg(prometheus::BuildCounter(), name, help), std::move(labels),
                                 options.max_series_per_family);
  }
  CachedFamily<Gauge> Gauges(const char* name, const char* help, std::vector<std::string> labels) {
    return CachedFamily<Gauge>(Reg(prometheus::BuildGauge(), name, help), std::move(labels),
                               options.max_series_per_family);
  }
  CachedFamily<Histogram> Histograms(const char* name, const char* help,
                                     std::vector<std::string> labels, std::vector<double> buckets) {
    return CachedFamily<Histogram>(Reg(prometheus::BuildHistogram(), name, help), std::move(labels),
                                   options.max_series_per_family, std::move(buckets));
  }

  PrometheusMetricsOptions options;
  std::shared_ptr<prometheus::Registry> registry;

  // The Go original's families.
  CachedFamily<Counter> tasks =
      Counters("minion_multiagent_tasks_total", "Tasks finished, by outcome.", {"status"});
  CachedFamily<Histogram> task_duration =
      Histograms("minion_multiagent_task_duration_seconds",
                 "Task duration from submission to result.", {"type", "status"}, kTaskBuckets);
  CachedFamily<Counter> messages =
      Counters("minion_multiagent_messages_total", "Protocol messages, by type and direction.",
               {"type", "direction"});
  CachedFamily<Histogram> message_latency =
      Histograms("minion_multiagent_message_latency_seconds",
                 "Time from a message's send to its delivery.", {"type"}, kMessageBuckets);
  CachedFamily<Counter> workers_total = Counters(
      "minion_multiagent_workers_total",
      "Worker life-cycle events (registered, unregistered, failed). A counter: the current "
      "number by status is minion_multiagent_workers.",
      {"status"});
  CachedFamily<Gauge> active_workers =
      Gauges("minion_multiagent_active_workers", "Workers currently able to take work.", {});
  CachedFamily<Gauge> pending_tasks =
      Gauges("minion_multiagent_pending_tasks", "Tasks accepted and not finished.", {});
  CachedFamily<Gauge> queue_depth =
      Gauges("minion_multiagent_queue_depth", "Subtasks in flight per worker.", {"agent_id"});
  CachedFamily<Gauge> task_ledger =
      Gauges("minion_multiagent_task_ledger_size", "Tasks recorded in the task ledger.", {});
  CachedFamily<Gauge> progress_ledger = Gauges("minion_multiagent_progress_ledger_size",
                                               "Steps recorded in the progress ledger.", {});
  CachedFamily<Counter> errors =
      Counters("minion_multiagent_errors_total", "Errors by component and type.",
               {"component", "error_type"});
  CachedFamily<Counter> agent_executions =
      Counters("minion_agent_executions_total", "Subtasks handled by workers.",
               {"agent_id", "agent_name", "status"});
  CachedFamily<Histogram> agent_duration =
      Histograms("minion_agent_duration_seconds", "Subtask handling time.",
                 {"agent_id", "agent_name"}, kTaskBuckets);
  CachedFamily<Counter> agent_errors =
      Counters("minion_agent_errors_total", "Failed subtasks by worker and error type.",
               {"agent_id", "error_type"});
  CachedFamily<Counter> llm_requests =
      Counters("minion_llm_requests_total", "LLM requests.", {"provider", "model", "status"});
  CachedFamily<Histogram> llm_latency = Histograms(
      "minion_llm_latency_seconds", "LLM request latency.", {"provider", "model"}, kLlmBuckets);
  CachedFamily<Counter> llm_tokens =
      Counters("minion_llm_tokens_total", "LLM tokens by type (input, output).",
               {"provider", "model", "type"});
  CachedFamily<Counter> llm_cost =
      Counters("minion_llm_cost_total", "LLM cost in US dollars.", {"provider", "model"});
  CachedFamily<Counter> llm_errors =
      Counters("minion_llm_errors_total", "Failed LLM requests by error type.",
               {"provider", "model", "error_type"});
  CachedFamily<Counter> tool_calls =
      Counters("minion_tool_calls_total", "Tool invocations.", {"tool_name", "status"});
  CachedFamily<Histogram> tool_duration = Histograms(
      "minion_tool_duration_seconds", "Tool invocation time.", {"tool_name"}, kToolBuckets);
  CachedFamily<Counter> tool_errors =
      Counters("minion_tool_errors_total", "Failed tool invocations.", {"tool_name", "error_type"});
  CachedFamily<Counter> storage_ops = Counters(
      "minion_storage_operations_total", "Storage operations.", {"operation", "table", "status"});
  CachedFamily<Histogram> storage_duration =
      Histograms("minion_storage_duration_seconds", "Storage operation time.",
                 {"operation", "table"}, kStorageBuckets);
  CachedFamily<Counter> storage_errors = Counters(
      "minion_storage_errors_total", "Failed storage operations.", {"operation", "error_type"});
  CachedFamily<Gauge> health =
      Gauges("minion_health_status", "Overall health: 1 healthy, 0.5 degraded, 0 unhealthy.", {});

  // Beyond the Go original.
  CachedFamily<Gauge> workers_by_status =
      Gauges("minion_multiagent_workers", "Registered workers by current status.", {"status"});
  CachedFamily<Counter> spans_exported =
      Counters("minion_tracing_spans_exported_total", "Spans an exporter delivered.", {"exporter"});
  CachedFamily<Counter> spans_dropped =
      Counters("minion_tracing_spans_dropped_total",
               "Spans lost: refused by a full queue or in failed batches.", {"exporter"});
  CachedFamily<Counter> export_failures =
      Counters("minion_tracing_export_failures_total", "Export calls that failed.", {"exporter"});
  CachedFamily<Gauge> export_queue =
      Gauges("minion_tracing_queue_size", "Spans waiting to be exported.", {"exporter"});
  CachedFamily<Histogram> export_duration = Histograms(
      "minion_tracing_export_duration_seconds",
      "Time of one export call (a batch), retries included.", {"exporter"}, kExportBuckets);
  CachedFamily<Counter> worker_handled =
      Counters("minion_worker_subtasks_handled_total",
               "Subtasks this worker process finished, failures included.", {"agent_id"});
  CachedFamily<Counter> worker_failed = Counters(
      "minion_worker_subtasks_failed_total", "Subtasks this worker process failed.", {"agent_id"});
  CachedFamily<Gauge> worker_in_flight = Gauges(
      "minion_worker_subtasks_in_flight", "Subtasks this worker process runs now.", {"agent_id"});
  CachedFamily<Counter> worker_redelivered =
      Counters("minion_worker_redeliveries_total",
               "Deliveries of a subtask that had been delivered before (a worker died or stalled "
               "holding it).",
               {"agent_id"});
  CachedFamily<Counter> worker_dead_lettered =
      Counters("minion_worker_dead_lettered_total",
               "Subtasks moved to the dead-letter stream after too many deliveries.", {"agent_id"});
  CachedFamily<Counter> worker_reconnects = Counters("minion_worker_transport_reconnects_total",
                                                     "Transport reconnections.", {"agent_id"});
  CachedFamily<Counter> log_lines = Counters("minion_log_lines_total", "Log lines accepted.", {});
  CachedFamily<Counter> log_dropped = Counters("minion_log_lines_dropped_total",
                                               "Log lines dropped by the full logging queue.", {});
  CachedFamily<Counter> log_suppressed =
      Counters("minion_log_lines_suppressed_total",
               "Repeated failure lines held back by rate limiting.", {});
  CachedFamily<Gauge> breaker_state =
      Gauges("minion_circuit_breaker_state",
             "Circuit breaker state: 0 closed, 1 half-open, 2 open.", {"name"});
  CachedFamily<Counter> breaker_transitions =
      Counters("minion_circuit_breaker_transitions_total", "Circuit breaker state changes.",
               {"name", "from", "to"});
  CachedFamily<Counter> breaker_rejections =
      Counters("minion_circuit_breaker_rejections_total", "Calls a circuit breaker refused.",
               {"name", "reason"});
  CachedFamily<Counter> retries =
      Counters("minion_retries_total", "Retry decisions: retried, or given up (budget, deadline).",
               {"name", "outcome"});
  CachedFamily<Counter> rate_limited =
      Counters("minion_rate_limited_calls_total", "Calls refused by a rate limiter.", {"name"});
  CachedFamily<Counter> bulkhead_rejections =
      Counters("minion_bulkhead_rejections_total", "Calls refused by a full bulkhead.", {"name"});

  // Last cumulative values seen, to advance counters by differences.
  std::mutex cumulative_mu;
  std::map<std::string, std::array<std::uint64_t, 3>> last_exporter;  // guarded by cumulative_mu
  std::array<std::uint64_t, 3> last_log{};                            // guarded by cumulative_mu
  std::map<std::string, std::array<std::uint64_t, 5>> last_worker;    // guarded by cumulative_mu

  std::mutex hooks_mu;
  std::vector<CollectHook> hooks;  // guarded by hooks_mu
};

namespace {
void Advance(Counter& c, std::uint64_t now, std::uint64_t& last) {
  if (now > last) c.Increment(static_cast<double>(now - last));
  last = std::max(last, now);
}
}  // namespace

PrometheusMetrics::PrometheusMetrics(PrometheusMetricsOptions options)
    : impl_(std::make_unique<Impl>(options)) {
  // Series without labels exist from the start, so a scrape shows zeros rather than nothing.
  impl_->active_workers.Get({});
  impl_->pending_tasks.Get({});
  impl_->task_ledger.Get({});
  impl_->progress_ledger.Get({});
  impl_->health.Get({}).Set(1);
  impl_->log_lines.Get({});
  impl_->log_dropped.Get({});
  impl_->log_suppressed.Get({});
  impl_->tasks.Get({"succeeded"});
  impl_->tasks.Get({"failed"});
}

PrometheusMetrics::~PrometheusMetrics() = default;

prometheus::Registry& PrometheusMetrics::registry() { return *impl_->registry; }

void PrometheusMetrics::TaskStarted() { impl_->pending_tasks.Get({}).Increment(); }

void PrometheusMetrics::TaskFinished(std::string_view type, std::string_view status,
                                     double seconds) {
  impl_->pending_tasks.Get({}).Decrement();
  impl_->tasks.Get({status}).Increment();
  impl_->task_duration.Get({type, status}).Observe(seconds);
}

void PrometheusMetrics::Message(std::string_view type, std::string_view direction) {
  impl_->messages.Get({type, direction}).Increment();
}

void PrometheusMetrics::MessageLatency(std::string_view type, double seconds) {
  impl_->message_latency.Get({type}).Observe(seconds);
}

void PrometheusMetrics::Error(std::string_view component, std::string_view error_type) {
  impl_->errors.Get({component, error_type}).Increment();
}

void PrometheusMetrics::WorkerEvent(std::string_view status) {
  impl_->workers_total.Get({status}).Increment();
}

void PrometheusMetrics::AgentExecution(std::string_view agent_id, std::string_view agent_name,
                                       std::string_view status, double seconds) {
  impl_->agent_executions.Get({agent_id, agent_name, status}).Increment();
  impl_->agent_duration.Get({agent_id, agent_name}).Observe(seconds);
}

void PrometheusMetrics::AgentError(std::string_view agent_id, std::string_view error_type) {
  impl_->agent_errors.Get({agent_id, error_type}).Increment();
  impl_->errors.Get({"agent", error_type}).Increment();
}

void PrometheusMetrics::LlmRequest(std::string_view provider, std::string_view model,
                                   std::string_view status, double seconds,
                                   std::int64_t input_tokens, std::int64_t output_tokens,
                                   double cost) {
  impl_->llm_requests.Get({provider, model, status}).Increment();
  impl_->llm_latency.Get({provider, model}).Observe(seconds);
  if (input_tokens > 0)
    impl_->llm_tokens.Get({provider, model, "input"}).Increment(static_cast<double>(input_tokens));
  if (output_tokens > 0)
    impl_->llm_tokens.Get({provider, model, "output"})
        .Increment(static_cast<double>(output_tokens));
  if (cost > 0) impl_->llm_cost.Get({provider, model}).Increment(cost);
}

void PrometheusMetrics::LlmError(std::string_view provider, std::string_view model,
                                 std::string_view error_type) {
  impl_->llm_errors.Get({provider, model, error_type}).Increment();
  impl_->errors.Get({"llm", error_type}).Increment();
}

void PrometheusMetrics::LlmCost(std::string_view provider, std::string_view model, double usd) {
  // Counters only go up; a negative or NaN price product is a bug upstream, not a refund.
  if (usd > 0) impl_->llm_cost.Get({provider, model}).Increment(usd);
}

void PrometheusMetrics::ToolCall(std::string_view tool_name, std::string_view status,
                                 double seconds) {
  impl_->tool_calls.Get({tool_name, status}).Increment();
  impl_->tool_duration.Get({tool_name}).Observe(seconds);
}

void PrometheusMetrics::ToolError(std::string_view tool_name, std::string_view error_type) {
  impl_->tool_errors.Get({tool_name, error_type}).Increment();
  impl_->errors.Get({"tool", error_type}).Increment();
}

void PrometheusMetrics::StorageOperation(std::string_view operation, std::string_view table,
                                         std::string_view status, double seconds) {
  impl_->storage_ops.Get({operation, table, status}).Increment();
  impl_->storage_duration.Get({operation, table}).Observe(seconds);
}

void PrometheusMetrics::StorageError(std::string_view operation, std::string_view error_type) {
  impl_->storage_errors.Get({operation, error_type}).Increment();
  impl_->errors.Get({"storage", error_type}).Increment();
}

void PrometheusMetrics::BreakerState(std::string_view name, int state) {
  impl_->breaker_state.Get({name}).Set(state);
}

void PrometheusMetrics::BreakerTransition(std::string_view name, std::string_view from,
                                          std::string_view to) {
  impl_->breaker_transitions.Get({name, from, to}).Increment();
}

void PrometheusMetrics::BreakerRejection(std::string_view name, std::string_view reason) {
  impl_->breaker_rejections.Get({name, reason}).Increment();
}

void PrometheusMetrics::Retry(std::string_view name, std::string_view outcome) {
  impl_->retries.Get({name, outcome}).Increment();
}

void PrometheusMetrics::RateLimited(std::string_view name) {
  impl_->rate_limited.Get({name}).Increment();
}

void PrometheusMetrics::BulkheadRejection(std::string_view name) {
  impl_->bulkhead_rejections.Get({name}).Increment();
}

void PrometheusMetrics::SetActiveWorkers(double n) { impl_->active_workers.Get({}).Set(n); }
void PrometheusMetrics::SetPendingTasks(double n) { impl_->pending_tasks.Get({}).Set(n); }
void PrometheusMetrics::SetWorkers(std::string_view status, double n) {
  impl_->workers_by_status.Get({status}).Set(n);
}
void PrometheusMetrics::SetQueueDepth(std::string_view agent_id, double n) {
  impl_->queue_depth.Get({agent_id}).Set(n);
}
void PrometheusMetrics::SetLedgerSizes(double task_ledger, double progress_ledger) {
  impl_->task_ledger.Get({}).Set(task_ledger);
  impl_->progress_ledger.Get({}).Set(progress_ledger);
}
void PrometheusMetrics::SetHealth(double value) { impl_->health.Get({}).Set(value); }

void PrometheusMetrics::SetExporterHealth(std::string_view exporter, const ExporterHealth& h) {
  std::lock_guard<std::mutex> lock(impl_->cumulative_mu);
  auto& last = impl_->last_exporter[CleanLabelValue(exporter)];
  Advance(impl_->spans_exported.Get({exporter}), h.spans_exported, last[0]);
  Advance(impl_->spans_dropped.Get({exporter}), h.spans_dropped, last[1]);
  Advance(impl_->export_failures.Get({exporter}), h.export_failures, last[2]);
  impl_->export_queue.Get({exporter}).Set(static_cast<double>(h.queue_size));
}

void PrometheusMetrics::ExportDuration(std::string_view exporter, double seconds) {
  impl_->export_duration.Get({exporter}).Observe(seconds);
}

void PrometheusMetrics::SetWorkerStats(std::string_view agent_id, const WorkerProcessStats& s) {
  std::lock_guard<std::mutex> lock(impl_->cumulative_mu);
  auto& last = impl_->last_worker[CleanLabelValue(agent_id)];
  Advance(impl_->worker_handled.Get({agent_id}), s.handled, last[0]);
  Advance(impl_->worker_failed.Get({agent_id}), s.failed, last[1]);
  Advance(impl_->worker_redelivered.Get({agent_id}), s.redelivered, last[2]);
  Advance(impl_->worker_dead_lettered.Get({agent_id}), s.dead_lettered, last[3]);
  Advance(impl_->worker_reconnects.Get({agent_id}), s.reconnects, last[4]);
  impl_->worker_in_flight.Get({agent_id}).Set(static_cast<double>(s.in_flight));
}

void PrometheusMetrics::SetLogStats(std::uint64_t lines, std::uint64_t dropped,
                                    std::uint64_t suppressed) {
  std::lock_guard<std::mutex> lock(impl_->cumulative_mu);
  Advance(impl_->log_lines.Get({}), lines, impl_->last_log[0]);
  Advance(impl_->log_dropped.Get({}), dropped, impl_->last_log[1]);
  Advance(impl_->log_suppressed.Get({}), suppressed, impl_->last_log[2]);
}

void PrometheusMetrics::AddCollectHook(CollectHook hook) {
  std::lock_guard<std::mutex> lock(impl_->hooks_mu);
  impl_->hooks.push_back(std::move(hook));
}

std::string PrometheusMetrics::Serialize() {
  std::vector<CollectHook> hooks;
  {
    std::lock_guard<std::mutex> lock(impl_->hooks_mu);
    hooks = impl_->hooks;
  }
  for (auto& hook : hooks) hook(*this);
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

Status PrometheusMetrics::WriteFile(const std::string& path) {
  const std::string text = Serialize();
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr)
    return UnavailableError("cannot write metrics to '" + tmp + "': " + std::strerror(errno));
  const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return UnavailableError("cannot write metrics to '" + path + "': " + why);
  }
  return Status::Ok();
}

}  // namespace minion::metrics
