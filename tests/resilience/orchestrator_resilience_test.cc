// The orchestrator's resilience in real plan runs: every attempt's outcome reaches the registry, so
// a worker that keeps failing gets its breaker opened, later subtasks go to a healthy worker of the
// same capability, and after the open duration (simulated clock) one half-open probe is let
// through; the retry budget bounds retries across runs. Both show as span events and metrics.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <sstream>
#include <string>

#include "minion/agents/coordinator.h"
#include "minion/agents/in_memory_protocol.h"
#include "minion/agents/orchestrator.h"
#include "minion/agents/registry.h"
#include "minion/metrics/prometheus_metrics.h"
#include "support/tracing_rig.h"

namespace minion::agents {
namespace {

using nlohmann::json;

double Sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

Plan OneStep() {
  Plan plan;
  plan.planner = "workflow";
  plan.subtasks.push_back(SubtaskSpec{"s0", "step", {}, 5, "", {}});
  return plan;
}

// Every event named `name` on any span, as "attr=value" strings of `key`.
std::vector<std::string> EventValues(const std::vector<trace::SpanData>& spans,
                                     const std::string& name, const std::string& key) {
  std::vector<std::string> out;
  for (const auto& s : spans) {
    for (const auto& e : s.events) {
      if (e.name != name) continue;
      for (const auto& a : e.attributes) {
        if (a.key == key) out.push_back(std::get<std::string>(a.value));
      }
    }
  }
  return out;
}

class OrchestratorResilienceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_ = std::make_shared<metrics::PrometheusMetrics>();
    metrics::SetGlobalRecorder(metrics_);
  }
  void TearDown() override {
    for (auto& w : workers_) (void)w->Stop();
    (void)protocol_.Shutdown(std::chrono::seconds(10));
    metrics::SetGlobalRecorder(nullptr);
  }

  void AddWorker(const std::string& id, TaskFunction fn) {
    auto worker = std::make_shared<Worker>(
        WorkerMetadata{id, "test", {"step"}, "", 5, WorkerStatus::kOffline},
        MakeFunctionHandler(std::move(fn)),
        WorkerOptions{.tracer = std::make_shared<trace::NoopTracer>()});
    ASSERT_TRUE(worker->Start(protocol_).ok());
    ASSERT_TRUE(registry_.Add(worker->metadata(), worker).ok());
    workers_.push_back(worker);
  }

  std::shared_ptr<metrics::PrometheusMetrics> metrics_;
  InMemoryProtocol protocol_{
      InMemoryProtocolOptions{.tracer = std::make_shared<trace::NoopTracer>()}};
  WorkerRegistry registry_;
  std::vector<std::shared_ptr<Worker>> workers_;
};

TEST_F(OrchestratorResilienceTest, FailingWorkerIsOpenedRoutedAroundThenProbed) {
  SimulatedClock breaker_clock;
  resilience::CircuitBreakerOptions breaker;
  breaker.consecutive_failures = 2;
  breaker.minimum_calls = 100;  // only the consecutive rule, so the count below is exact
  breaker.window_size = 100;
  breaker.open_duration = std::chrono::seconds(30);
  breaker.half_open_max_calls = 1;
  registry_.SetBreakerOptions(breaker, &breaker_clock);

  std::atomic<int> bad_calls{0}, good_calls{0};
  AddWorker("bad", [&](const trace::Context&, const Subtask&) -> Result<json> {
    ++bad_calls;
    return UnavailableError("disk on fire");
  });
  AddWorker("good", [&](const trace::Context&, const Subtask& s) -> Result<json> {
    ++good_calls;
    return json{{"attempt", s.attempt}};
  });

  testing::TracingRig rig;
  OrchestratorOptions options;
  options.tracer = rig.tracer;
  options.routing = RoutingStrategy::kRoundRobin;
  options.retry.max_attempts = 3;
  options.retry.initial_backoff = std::chrono::milliseconds(0);
  options.retry.jitter = 0;
  options.replan_on_failure = false;
  Orchestrator orchestrator(protocol_, registry_, options);
  ASSERT_TRUE(orchestrator.Start().ok());
  DeclarativePlanner planner(OneStep());
  auto run = [&](int n) {
    const std::string id = "task-" + std::to_string(n);
    return orchestrator.ExecuteTask({}, id, {id, "", "workflow", 5, {}}, planner);
  };

  // Round robin alternates bad / good until bad has failed twice in a row: every task still
  // succeeds (a failed attempt is retried on the next worker).
  int task = 0;
  while (bad_calls.load() < 2) {
    ASSERT_LT(task, 10) << "bad was never routed to";
    ExecutionResult r = run(task++);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  }
  ASSERT_EQ(registry_.Breaker("bad")->state(), resilience::BreakerState::kOpen);
  EXPECT_EQ(registry_.Breaker("good")->state(), resilience::BreakerState::kClosed);

  // While open, bad gets nothing: ten tasks, one attempt each, all on good.
  const int good_before = good_calls.load();
  for (int k = 0; k < 10; ++k) {
    ExecutionResult r = run(task++);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    ASSERT_EQ(r.subtasks.at(0).attempts, 1);
    EXPECT_EQ(r.subtasks.at(0).worker_id, "good");
  }
  EXPECT_EQ(bad_calls.load(), 2);
  EXPECT_EQ(good_calls.load(), good_before + 10);

  // After the open duration bad gets exactly one probe per open period; it fails again and
  // the breaker reopens; the task itself succeeds on good.
  breaker_clock.Advance(std::chrono::seconds(30));
  for (int k = 0; k < 4; ++k) {
    ExecutionResult r = run(task++);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  }
  EXPECT_EQ(bad_calls.load(), 3);
  EXPECT_EQ(registry_.Breaker("bad")->state(), resilience::BreakerState::kOpen);
  ASSERT_TRUE(orchestrator.Shutdown().ok());

  // Traces: the dispatch spans carry each transition with its reason, and the rejections.
  const auto spans = rig.Spans();
  EXPECT_EQ(EventValues(spans, "circuit_breaker.state_change", "circuit_breaker.to"),
            (std::vector<std::string>{"open", "half_open", "open"}));
  const auto reasons = EventValues(spans, "circuit_breaker.state_change", "circuit_breaker.reason");
  ASSERT_EQ(reasons.size(), 3u);
  EXPECT_NE(reasons[0].find("2 consecutive failures"), std::string::npos) << reasons[0];
  for (const auto& name :
       EventValues(spans, "circuit_breaker.state_change", "circuit_breaker.name")) {
    EXPECT_EQ(name, "worker:bad");
  }
  const auto rejected = EventValues(spans, "circuit_breaker.rejected", "circuit_breaker.reason");
  ASSERT_FALSE(rejected.empty());
  EXPECT_NE(rejected[0].find("'worker:bad' is open"), std::string::npos) << rejected[0];

  // Metrics: state 2 = open, and the transitions counted.
  const std::string text = metrics_->Serialize();
  EXPECT_EQ(Sample(text, "minion_circuit_breaker_state{name=\"worker:bad\"}"), 2) << text;
  EXPECT_EQ(Sample(text, "minion_circuit_breaker_state{name=\"worker:good\"}"), 0) << text;
  EXPECT_EQ(Sample(text,
                   "minion_circuit_breaker_transitions_total{from=\"closed\",name=\"worker:bad\","
                   "to=\"open\"}"),
            1)
      << text;
  EXPECT_EQ(Sample(text,
                   "minion_circuit_breaker_transitions_total{from=\"half_open\",name=\"worker:"
                   "bad\",to=\"open\"}"),
            1)
      << text;
  EXPECT_GE(
      Sample(text, "minion_circuit_breaker_rejections_total{name=\"worker:bad\",reason=\"open\"}"),
      5)
      << text;
}

// With every worker of the capability open, a subtask fails fast with the breakers named, not
// after a timeout, and its dispatch span is an error that says so.
TEST_F(OrchestratorResilienceTest, AllWorkersOpenFailsFastWithAClearError) {
  SimulatedClock breaker_clock;
  resilience::CircuitBreakerOptions breaker;
  breaker.consecutive_failures = 1;
  breaker.open_duration = std::chrono::seconds(30);
  registry_.SetBreakerOptions(breaker, &breaker_clock);
  std::atomic<int> calls{0};
  AddWorker("only", [&](const trace::Context&, const Subtask&) -> Result<json> {
    ++calls;
    return InternalError("broken");
  });
  testing::TracingRig rig;
  OrchestratorOptions options;
  options.tracer = rig.tracer;
  options.retry.max_attempts = 3;
  options.retry.initial_backoff = std::chrono::milliseconds(0);
  options.retry.jitter = 0;
  options.replan_on_failure = false;
  options.subtask_timeout = std::chrono::hours(1);  // a timeout would hang the test
  Orchestrator orchestrator(protocol_, registry_, options);
  ASSERT_TRUE(orchestrator.Start().ok());
  DeclarativePlanner planner(OneStep());
  ExecutionResult r = orchestrator.ExecuteTask({}, "t", {"t", "", "workflow", 5, {}}, planner);
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable) << r.status.ToString();
  EXPECT_NE(r.status.message().find("no worker offering capability 'step' is available"),
            std::string::npos)
      << r.status.message();
  EXPECT_NE(r.status.message().find("'worker:only' is open"), std::string::npos)
      << r.status.message();
  EXPECT_EQ(calls.load(), 1);  // the second attempt was never sent
  ASSERT_TRUE(orchestrator.Shutdown().ok());
  bool error_span = false;
  for (const auto& s : rig.Spans()) {
    if (s.status == trace::SpanStatusCode::kError &&
        s.status_description.find("'worker:only' is open") != std::string::npos) {
      error_span = true;
    }
  }
  EXPECT_TRUE(error_span);
}

// The retry budget bounds retries across runs: with a bucket of 2 tokens and no refill, a
// worker failing every call gets 2 retries in all (task 1), not 4 per task.
TEST_F(OrchestratorResilienceTest, RetryBudgetStopsARetryStorm) {
  std::atomic<int> calls{0};
  AddWorker("flaky", [&](const trace::Context&, const Subtask&) -> Result<json> {
    ++calls;
    return UnavailableError("overloaded");
  });
  testing::TracingRig rig;
  OrchestratorOptions options;
  options.tracer = rig.tracer;
  options.retry.max_attempts = 5;
  options.retry.initial_backoff = std::chrono::milliseconds(0);
  options.retry.jitter = 0;
  options.retry.budget = std::make_shared<resilience::RetryBudget>(/*ratio=*/0.0, /*max_tokens=*/2);
  options.replan_on_failure = false;
  Orchestrator orchestrator(protocol_, registry_, options);
  ASSERT_TRUE(orchestrator.Start().ok());
  DeclarativePlanner planner(OneStep());
  std::vector<int> attempts;
  for (int k = 0; k < 3; ++k) {
    const std::string id = "storm-" + std::to_string(k);
    ExecutionResult r = orchestrator.ExecuteTask({}, id, {id, "", "workflow", 5, {}}, planner);
    ASSERT_EQ(r.status.code(), StatusCode::kUnavailable) << r.status.ToString();
    attempts.push_back(r.subtasks.at(0).attempts);
    EXPECT_NE(r.status.message().find("retry budget exhausted"), std::string::npos)
        << r.status.message();
  }
  ASSERT_TRUE(orchestrator.Shutdown().ok());
  EXPECT_EQ(attempts, (std::vector<int>{3, 1, 1}));  // without the budget: 5, 5, 5
  EXPECT_EQ(calls.load(), 5);
  EXPECT_EQ(options.retry.budget->tokens(), 0);
  const std::string text = metrics_->Serialize();
  EXPECT_EQ(Sample(text, "minion_retries_total{name=\"orchestrator\",outcome=\"retried\"}"), 2)
      << text;
  EXPECT_EQ(
      Sample(text, "minion_retries_total{name=\"orchestrator\",outcome=\"budget_exhausted\"}"), 3)
      << text;
  int exhausted_events = 0;
  for (const auto& s : rig.Spans()) {
    for (const auto& e : s.events) exhausted_events += e.name == "retry_budget_exhausted";
  }
  EXPECT_EQ(exhausted_events, 3);
}

// Issue 10 gap: the ledger stays readable after Shutdown (observe.cc's collect hook and the
// final --metrics-file write read it then), with a protocol the coordinator owns.
TEST(CoordinatorLedgerTest, LedgerIsReadableAfterShutdown) {
  auto worker = std::make_shared<Worker>(
      WorkerMetadata{"echo-1", "test", {"echo"}, "", 5, WorkerStatus::kOffline},
      MakeFunctionHandler(
          [](const trace::Context&, const Subtask& s) -> Result<json> { return s.input; }),
      WorkerOptions{.tracer = std::make_shared<trace::NoopTracer>()});
  CoordinatorOptions options;
  options.protocol = std::make_shared<InMemoryProtocol>(
      InMemoryProtocolOptions{.tracer = std::make_shared<trace::NoopTracer>()});
  options.owns_protocol = true;
  options.workers = {worker};
  options.tracer = std::make_shared<trace::NoopTracer>();
  auto coordinator = Coordinator::Create(std::move(options));
  ASSERT_TRUE(coordinator.ok()) << coordinator.status().ToString();
  TaskResult r = (*coordinator)->ExecuteTask({"echo", "", "echo", 5, json{{"x", 1}}});
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  ASSERT_TRUE((*coordinator)->Shutdown().ok());
  auto tasks = (*coordinator)->ledger().Tasks();
  ASSERT_TRUE(tasks.ok()) << tasks.status().ToString();
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ(tasks->at(0).status, "succeeded");
  auto steps = (*coordinator)->ledger().Steps(tasks->at(0).task_id);
  ASSERT_TRUE(steps.ok());
  EXPECT_FALSE(steps->empty());
  // A second Shutdown and the destructor after it are harmless.
  EXPECT_TRUE((*coordinator)->Shutdown().ok());
}

}  // namespace
}  // namespace minion::agents
