// What observability adds to a task: one metric update (the null recorder the libraries use
// when no backend is installed, and the Prometheus one), one log line (filtered out by level,
// and written as JSON through the async logger to a sink that discards it), and one circuit
// breaker admission + outcome.
#include <benchmark/benchmark.h>

#include <memory>

#include "minion/logging/log_context.h"
#include "minion/logging/logging.h"
#include "minion/metrics/prometheus_metrics.h"
#include "minion/resilience/circuit_breaker.h"
#include "minion/trace/context.h"

namespace {

using namespace minion;

void BM_NullRecorderMessage(benchmark::State& state) {
  metrics::SetGlobalRecorder(nullptr);
  for (auto _ : state) metrics::GlobalRecorder().Message("task", "sent");
}
BENCHMARK(BM_NullRecorderMessage);

void BM_PrometheusCounter(benchmark::State& state) {
  metrics::PrometheusMetrics m;
  for (auto _ : state) m.Message("task", "sent");
}
BENCHMARK(BM_PrometheusCounter)->ThreadRange(1, 2);

void BM_PrometheusTaskFinished(benchmark::State& state) {
  // A task's own metrics: counter + histogram + gauge.
  metrics::PrometheusMetrics m;
  for (auto _ : state) {
    m.TaskStarted();
    m.TaskFinished("code_generation", "succeeded", 0.0123);
  }
}
BENCHMARK(BM_PrometheusTaskFinished);

class DiscardSink final : public logging::LineSink {
 public:
  void Write(std::string_view line) override { benchmark::DoNotOptimize(line.data()); }
};

void BM_LogLineFilteredOut(benchmark::State& state) {
  logging::LoggingOptions o;
  o.level = logging::Level::kWarn;
  o.sink = std::make_shared<DiscardSink>();
  (void)logging::Init(o);
  for (auto _ : state) logging::Info("worker", "subtask started", {{"attempt", 1}});
  logging::Shutdown();
}
BENCHMARK(BM_LogLineFilteredOut);

void BM_LogLineJsonInTask(benchmark::State& state) {
  logging::LoggingOptions o;
  o.level = logging::Level::kInfo;
  o.sink = std::make_shared<DiscardSink>();
  o.queue_size = 1 << 16;
  (void)logging::Init(o);
  auto trace_id = *trace::TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736");
  auto span_id = *trace::SpanId::FromHex("00f067aa0ba902b7");
  trace::Context ctx(trace::SpanContext(trace_id, span_id, trace::TraceFlags(1), false));
  auto scope = ctx.Attach();
  logging::ScopedLogContext log_ctx({"task-4bf92f3577b34da6a3ce929d0e0e4736", "coder-1", "s1"});
  for (auto _ : state) {
    logging::Info("worker", "subtask finished",
                  {{"capability", "code_generation"}, {"duration_ms", 12.5}});
  }
  state.counters["dropped"] = static_cast<double>(logging::Stats().dropped);
  logging::Shutdown();
}
BENCHMARK(BM_LogLineJsonInTask);

void BM_BreakerAdmitAndRecord(benchmark::State& state) {
  resilience::CircuitBreaker breaker("llm:openai");
  for (auto _ : state) {
    auto p = breaker.TryAcquire();
    breaker.OnSuccess(*p);
  }
}
BENCHMARK(BM_BreakerAdmitAndRecord);

void BM_BreakerRejectWhenOpen(benchmark::State& state) {
  resilience::CircuitBreaker breaker("llm:openai");
  breaker.Force(resilience::BreakerState::kOpen);
  for (auto _ : state) benchmark::DoNotOptimize(breaker.TryAcquire().ok());
}
BENCHMARK(BM_BreakerRejectWhenOpen);

}  // namespace

BENCHMARK_MAIN();
