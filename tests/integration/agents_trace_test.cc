// End-to-end: real tasks through Coordinator -> Orchestrator -> InMemoryProtocol -> Workers,
// asserting the exported span tree (names, the seed's attribute keys, parent links, kinds,
// statuses) and the runtime's behaviour (dependencies, parallelism, retries, shutdown).
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "minion/agents/coordinator.h"
#include "minion/agents/external_worker.h"
#include "minion/agents/runtime_builder.h"
#include "minion/llm/offline_provider.h"
#include "support/gate.h"
#include "support/tracing_rig.h"

namespace minion::agents {
namespace {

using minion::testing::TracingRig;
using nlohmann::json;

class AgentsTraceTest : public ::testing::Test {
 protected:
  CoordinatorOptions Options(bool builtin = false) {
    CoordinatorOptions o;
    o.tracer = tracing_.tracer;
    if (builtin) {
      o.provider = std::make_shared<llm::OfflineProvider>(
          llm::OfflineProviderOptions{.model = "offline-echo-1", .tracer = tracing_.tracer});
    }
    o.orchestrator.retry.initial_backoff = std::chrono::milliseconds(0);
    return o;
  }
  std::unique_ptr<Coordinator> Make(CoordinatorOptions o, InMemoryProtocolOptions protocol = {}) {
    // The built-in workers exactly when Options(true) gave a provider.
    RuntimeDefaults defaults;
    defaults.builtin_workers = o.provider != nullptr;
    defaults.protocol = std::move(protocol);
    auto c = BuildCoordinator(std::move(o), std::move(defaults));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(c).value();
  }

  TracingRig tracing_;
};

TEST_F(AgentsTraceTest, CodeGenerationTaskProducesTheSeedTraceTree) {
  auto coordinator = Make(Options(/*builtin=*/true));
  TaskResult r = coordinator->ExecuteTask(
      {"Generate REST API", "users endpoint", "code_generation", 8, "GET /users"});
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  ASSERT_EQ(r.subtasks.size(), 1u);
  EXPECT_EQ(r.subtasks[0].worker_id, "coder-1");
  EXPECT_TRUE(r.subtasks[0].output.contains("text"));
  EXPECT_EQ(r.planner, "direct");

  auto spans = tracing_.Spans();
  auto roots = minion::testing::Named(spans, "multiagent.task.code_generation");
  ASSERT_EQ(roots.size(), 1u);
  const auto& root = *roots[0];
  EXPECT_FALSE(root.HasParent());
  EXPECT_EQ(minion::testing::Str(root, "multiagent.task.id"), r.task_id);
  EXPECT_EQ(minion::testing::Str(root, "multiagent.task.name"), "Generate REST API");
  EXPECT_EQ(minion::testing::Str(root, "multiagent.task.type"), "code_generation");
  EXPECT_EQ(minion::testing::Str(root, "multiagent.task.priority"), "8");
  EXPECT_EQ(minion::testing::Str(root, "multiagent.subtask.count"), "1");
  EXPECT_NE(root.status, trace::SpanStatusCode::kError);
  for (const auto& s : spans) EXPECT_EQ(s.trace_id, root.trace_id) << s.name;

  auto plans = minion::testing::Named(spans, "orchestrator.plan");
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0]->parent_span_id, root.span_id);
  EXPECT_EQ(minion::testing::Str(*plans[0], "operation"), "plan");
  EXPECT_EQ(minion::testing::Str(*plans[0], "multiagent.orchestrator.id"),
            "coordinator.orchestrator");
  auto dispatches = minion::testing::Named(spans, "orchestrator.dispatch");
  ASSERT_EQ(dispatches.size(), 1u);
  EXPECT_EQ(dispatches[0]->parent_span_id, root.span_id);
  EXPECT_EQ(minion::testing::Str(*dispatches[0], "operation"), "dispatch");

  const trace::SpanData* task_send = nullptr;
  const trace::SpanData* result_send = nullptr;
  for (const auto* s : minion::testing::Named(spans, "protocol.send")) {
    EXPECT_EQ(s->kind, trace::SpanKind::kProducer);
    EXPECT_EQ(minion::testing::Str(*s, "operation"), "send");
    EXPECT_EQ(minion::testing::Str(*s, "multiagent.message.id").rfind("msg-", 0), 0u);
    if (minion::testing::Str(*s, "multiagent.message.type") == "task") task_send = s;
    if (minion::testing::Str(*s, "multiagent.message.type") == "result") result_send = s;
  }
  ASSERT_NE(task_send, nullptr);
  ASSERT_NE(result_send, nullptr);
  EXPECT_EQ(task_send->parent_span_id, dispatches[0]->span_id);

  auto workers = minion::testing::Named(spans, "worker.code_generation");
  ASSERT_EQ(workers.size(), 1u);
  const auto& worker = *workers[0];
  EXPECT_EQ(worker.kind, trace::SpanKind::kConsumer);
  EXPECT_EQ(worker.parent_span_id, task_send->span_id);  // recovered from the message headers
  EXPECT_TRUE(worker.parent_is_remote);
  EXPECT_EQ(minion::testing::Str(worker, "multiagent.worker.id"), "coder-1");
  EXPECT_EQ(minion::testing::Str(worker, "multiagent.worker.capability"), "code_generation");
  EXPECT_EQ(minion::testing::Str(worker, "multiagent.task.id"), r.task_id);
  EXPECT_EQ(result_send->parent_span_id, worker.span_id);
  EXPECT_GE(result_send->start_time, worker.end_time);

  // The LLM call nests under the worker.
  bool llm_under_worker = false;
  for (const auto& s : spans) {
    if (s.name.rfind("llm.offline.", 0) == 0 && s.parent_span_id == worker.span_id)
      llm_under_worker = true;
  }
  EXPECT_TRUE(llm_under_worker);
  EXPECT_LE(root.start_time, task_send->start_time);
  EXPECT_GE(root.end_time, worker.end_time);

  auto ledger_steps = coordinator->ledger().Steps(r.task_id);
  ASSERT_TRUE(ledger_steps.ok());
  std::vector<std::string> kinds;
  for (const auto& s : *ledger_steps) kinds.push_back(s.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"plan", "dispatch", "result", "done"}));
}

TEST_F(AgentsTraceTest, WorkerServesTheSubtasksCapabilityNotItsFirst) {
  auto coordinator = Make(Options(true));
  TaskResult r = coordinator->ExecuteTask({"Review", "", "quality_assurance", 5, "x"});
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  auto spans = tracing_.Spans();
  auto ws = minion::testing::Named(spans, "worker.quality_assurance");
  ASSERT_EQ(ws.size(), 1u);
  EXPECT_EQ(minion::testing::Str(*ws[0], "multiagent.worker.id"), "reviewer-1");
  EXPECT_EQ(minion::testing::Str(*ws[0], "multiagent.worker.capability"), "quality_assurance");
}

TEST_F(AgentsTraceTest, FailingWorkerMarksWorkerAndTaskSpansError) {
  auto o = Options();
  o.orchestrator.retry.max_attempts = 1;
  auto coordinator = Make(std::move(o));
  ASSERT_TRUE(
      coordinator
          ->CreateWorker({"broken-1", "custom", {"code_generation"}, "", 5, WorkerStatus::kOffline},
                         [](const trace::Context&, const Subtask&) -> Result<json> {
                           return InternalError("compiler exploded");
                         })
          .ok());
  TaskResult r = coordinator->ExecuteTask({"Generate", "", "code_generation", 3, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status.message().find("compiler exploded"), std::string::npos) << r.status.ToString();
  ASSERT_EQ(r.subtasks.size(), 1u);
  EXPECT_FALSE(r.subtasks[0].status.ok());

  auto spans = tracing_.Spans();
  auto ws = minion::testing::Named(spans, "worker.code_generation");
  ASSERT_EQ(ws.size(), 1u);
  EXPECT_EQ(ws[0]->status, trace::SpanStatusCode::kError);
  EXPECT_TRUE(minion::testing::HasExceptionEvent(*ws[0]));
  auto roots = minion::testing::Named(spans, "multiagent.task.code_generation");
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(roots[0]->status, trace::SpanStatusCode::kError);
  EXPECT_TRUE(minion::testing::HasExceptionEvent(*roots[0]));
  bool error_reply = false;
  for (const auto* s : minion::testing::Named(spans, "protocol.send")) {
    if (minion::testing::Str(*s, "multiagent.message.type") == "error") error_reply = true;
  }
  EXPECT_TRUE(error_reply);
  auto health = coordinator->HealthCheck();
  EXPECT_EQ(health.overall, HealthState::kHealthy);  // one failure is below the threshold
}

TEST_F(AgentsTraceTest, UnofferedTypeFailsNamingTheCapability) {
  auto coordinator = Make(Options(true));
  TaskResult r = coordinator->ExecuteTask({"Teleport", "", "quantum_teleportation", 5, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status.code(), StatusCode::kNotFound);
  EXPECT_NE(r.status.message().find("'quantum_teleportation'"), std::string::npos);
  auto spans = tracing_.Spans();
  auto roots = minion::testing::Named(spans, "multiagent.task.quantum_teleportation");
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(roots[0]->status, trace::SpanStatusCode::kError);
  for (const auto& s : spans)
    EXPECT_NE(s.name.rfind("worker.", 0), 0u) << "routed anyway: " << s.name;
}

TEST_F(AgentsTraceTest, WorkflowRunsIndependentSubtasksInParallelAndRespectsDependencies) {
  auto o = Options();
  auto planner = DeclarativePlanner::FromYaml(
      "subtasks:\n"
      "  - {name: left, capability: left_cap}\n"
      "  - {name: right, capability: right_cap}\n"
      "  - {name: join, capability: join_cap, dependencies: [left, right]}\n");
  ASSERT_TRUE(planner.ok()) << planner.status().ToString();
  o.workflow = std::shared_ptr<Planner>(std::move(planner).value());
  auto coordinator = Make(std::move(o));
  minion::testing::Latch both(2);
  auto meeting = [&](std::string name) {
    return [&both, name](const trace::Context&, const Subtask&) -> Result<json> {
      // Both independent subtasks must be running at once to get past here.
      if (!both.ArriveAndWait(std::chrono::seconds(20)))
        return DeadlineExceededError(name + " ran alone: no overlap");
      return json{{"from", name}};
    };
  };
  ASSERT_TRUE(coordinator->CreateWorker({"l", "", {"left_cap"}, "", 5, {}}, meeting("left")).ok());
  ASSERT_TRUE(
      coordinator->CreateWorker({"r", "", {"right_cap"}, "", 5, {}}, meeting("right")).ok());
  ASSERT_TRUE(coordinator
                  ->CreateWorker({"j", "", {"join_cap"}, "", 5, {}},
                                 [](const trace::Context&, const Subtask& s) -> Result<json> {
                                   return json{{"saw", s.dependency_outputs}};
                                 })
                  .ok());
  TaskResult r = coordinator->ExecuteTask({"Fan in", "", "workflow", 5, {}});
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  ASSERT_EQ(r.subtasks.size(), 3u);
  EXPECT_EQ(r.subtasks[2].output["saw"]["left"]["from"], "left");
  EXPECT_EQ(r.subtasks[2].output["saw"]["right"]["from"], "right");

  auto spans = tracing_.Spans();
  auto left = minion::testing::Named(spans, "worker.left_cap");
  auto right = minion::testing::Named(spans, "worker.right_cap");
  auto join = minion::testing::Named(spans, "worker.join_cap");
  ASSERT_EQ(left.size(), 1u);
  ASSERT_EQ(right.size(), 1u);
  ASSERT_EQ(join.size(), 1u);
  EXPECT_GE(join[0]->start_time, left[0]->end_time);
  EXPECT_GE(join[0]->start_time, right[0]->end_time);
  // Overlap in the recorded spans too.
  EXPECT_LT(left[0]->start_time, right[0]->end_time);
  EXPECT_LT(right[0]->start_time, left[0]->end_time);
  auto roots = minion::testing::Named(spans, "multiagent.task.workflow");
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(minion::testing::Str(*roots[0], "multiagent.subtask.count"), "3");
}

TEST_F(AgentsTraceTest, RetriesAFailedAttemptWithBackoff) {
  auto o = Options();
  o.orchestrator.retry.max_attempts = 3;
  std::atomic<int> calls{0};
  auto coordinator = Make(std::move(o));
  ASSERT_TRUE(coordinator
                  ->CreateWorker({"flaky", "", {"flaky_cap"}, "", 5, {}},
                                 [&](const trace::Context&, const Subtask& s) -> Result<json> {
                                   if (calls.fetch_add(1) == 0)
                                     return UnavailableError("first try fails");
                                   return json{{"attempt", s.attempt}};
                                 })
                  .ok());
  TaskResult r = coordinator->ExecuteTask({"Flaky", "", "flaky_cap", 5, {}});
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(r.subtasks[0].attempts, 2);
  EXPECT_EQ(r.subtasks[0].output["attempt"], 2);
  auto spans = tracing_.Spans();
  auto ws = minion::testing::Named(spans, "worker.flaky_cap");
  ASSERT_EQ(ws.size(), 2u);
  int errors = 0;
  for (auto* w : ws) errors += w->status == trace::SpanStatusCode::kError;
  EXPECT_EQ(errors, 1);
  // The failed attempt marks its dispatch span so a tail sampler keeps the whole trace even
  // though the task ended well (the failed worker half could live in another process).
  auto dispatches = minion::testing::Named(spans, "orchestrator.dispatch");
  ASSERT_EQ(dispatches.size(), 1u);
  EXPECT_EQ(minion::testing::Str(*dispatches[0], "minion.tail.keep"), "true");
  ASSERT_EQ(dispatches[0]->events.size(), 1u);
  EXPECT_EQ(dispatches[0]->events[0].name, "attempt_failed");
  auto steps = coordinator->ledger().Steps(r.task_id);
  bool retried = false;
  for (const auto& s : *steps) retried |= s.kind == "retry";
  EXPECT_TRUE(retried);
}

TEST_F(AgentsTraceTest, SubtaskTimeoutFailsTheTaskWithDeadlineExceeded) {
  auto o = Options();
  o.orchestrator.retry.max_attempts = 1;
  o.orchestrator.subtask_timeout = std::chrono::milliseconds(100);
  minion::testing::Gate gate;
  auto coordinator = Make(std::move(o));
  ASSERT_TRUE(coordinator
                  ->CreateWorker({"stuck", "", {"stuck_cap"}, "", 5, {}},
                                 [&](const trace::Context&, const Subtask&) -> Result<json> {
                                   EXPECT_TRUE(gate.Wait());
                                   return json{};
                                 })
                  .ok());
  TaskResult r = coordinator->ExecuteTask({"Stuck", "", "stuck_cap", 5, {}});
  gate.Open();
  EXPECT_EQ(r.status.code(), StatusCode::kDeadlineExceeded) << r.status.ToString();
  EXPECT_NE(r.status.message().find("timed out"), std::string::npos);
}

TEST_F(AgentsTraceTest, ParentContextContinuesTheCallersTrace) {
  auto coordinator = Make(Options(true));
  trace::SpanContext remote;
  auto [caller_ctx, caller] = observability::StartSpan(*tracing_.tracer, {}, "caller",
                                                       observability::Component::kMultiAgent);
  TaskResult r =
      coordinator->ExecuteTask({"Summarise", "", "summarization", 5, "text"}, &caller_ctx);
  caller.End();
  ASSERT_TRUE(r.ok());
  auto spans = tracing_.Spans();
  auto roots = minion::testing::Named(spans, "multiagent.task.summarization");
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(roots[0]->parent_span_id, caller_ctx.span_context().span_id());
  for (const auto& s : spans) EXPECT_EQ(s.trace_id, caller_ctx.span_context().trace_id());
}

TEST_F(AgentsTraceTest, ExternalCommandWorkerGetsTheWorkerSpanAsTraceparent) {
  auto coordinator = Make(Options());
  ExternalCommandOptions ext;
  ext.argv = {MINION_AGENT_HELPER, "echo"};
  ASSERT_TRUE(
      coordinator
          ->CreateWorker({"ext", "external", {"shell"}, "", 5, {}}, MakeExternalCommandHandler(ext))
          .ok());
  TaskResult r = coordinator->ExecuteTask({"Shell", "", "shell", 5, {{"cmd", "x"}}});
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(r.subtasks[0].output["input"]["input"]["cmd"], "x");
  auto spans = tracing_.Spans();
  auto ws = minion::testing::Named(spans, "worker.shell");
  ASSERT_EQ(ws.size(), 1u);
  std::string tp = r.subtasks[0].output["traceparent"];
  EXPECT_EQ(tp, "00-" + ws[0]->trace_id.ToHex() + "-" + ws[0]->span_id.ToHex() + "-01");
}

TEST_F(AgentsTraceTest, ShutdownLetsInFlightTasksFinish) {
  auto coordinator = Make(Options());
  minion::testing::Gate gate;
  minion::testing::Latch entered(1);
  ASSERT_TRUE(coordinator
                  ->CreateWorker({"slow", "", {"slow_cap"}, "", 5, {}},
                                 [&](const trace::Context&, const Subtask&) -> Result<json> {
                                   entered.CountDown();
                                   EXPECT_TRUE(gate.Wait());
                                   return json{{"done", true}};
                                 })
                  .ok());
  auto task = std::async(std::launch::async, [&] {
    return coordinator->ExecuteTask({"Slow", "", "slow_cap", 5, {}});
  });
  ASSERT_TRUE(entered.Wait());
  auto shutdown = std::async(std::launch::async,
                             [&] { return coordinator->Shutdown(std::chrono::seconds(60)); });
  // New work is refused once shutdown has begun (the health check reports it first).
  while (coordinator->HealthCheck().overall != HealthState::kUnhealthy) std::this_thread::yield();
  TaskResult refused = coordinator->ExecuteTask({"Late", "", "slow_cap", 5, {}});
  EXPECT_EQ(refused.status.code(), StatusCode::kUnavailable);
  EXPECT_NE(refused.status.message().find("shutting down"), std::string::npos);
  gate.Open();
  TaskResult r = task.get();
  EXPECT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_TRUE(shutdown.get().ok());
}

TEST_F(AgentsTraceTest, ShutdownCancelsTasksStillRunningAfterGrace) {
  auto coordinator = Make(Options());
  minion::testing::Gate gate;
  minion::testing::Latch entered(1);
  ASSERT_TRUE(coordinator
                  ->CreateWorker({"slow", "", {"slow_cap"}, "", 5, {}},
                                 [&](const trace::Context&, const Subtask&) -> Result<json> {
                                   entered.CountDown();
                                   EXPECT_TRUE(gate.Wait());
                                   return json{};
                                 })
                  .ok());
  auto task = std::async(std::launch::async, [&] {
    return coordinator->ExecuteTask({"Slow", "", "slow_cap", 5, {}});
  });
  ASSERT_TRUE(entered.Wait());
  auto shutdown = std::async(std::launch::async,
                             [&] { return coordinator->Shutdown(std::chrono::milliseconds(0)); });
  TaskResult r = task.get();  // returns while the worker is still blocked
  EXPECT_EQ(r.status.code(), StatusCode::kCancelled) << r.status.ToString();
  EXPECT_NE(r.status.message().find("shutting down"), std::string::npos);
  gate.Open();  // lets the worker finish so Shutdown can stop it
  EXPECT_TRUE(shutdown.get().ok());
  auto spans = tracing_.Spans();
  auto roots = minion::testing::Named(spans, "multiagent.task.slow_cap");
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(roots[0]->status, trace::SpanStatusCode::kError);
}

TEST_F(AgentsTraceTest, ThousandConcurrentTasksLoseNoResult) {
  InMemoryProtocolOptions protocol;
  protocol.threads = 4;
  auto coordinator = Make(Options(), std::move(protocol));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(coordinator
                    ->CreateWorker({"echo-" + std::to_string(i), "", {"echo"}, "", 5, {}},
                                   [](const trace::Context&, const Subtask& s) -> Result<json> {
                                     return s.input;
                                   })
                    .ok());
  }
  constexpr int kTasks = 1000;
  std::vector<TaskResult> results(kTasks);
  std::vector<std::thread> threads;
  minion::testing::Latch start(1);
  for (int i = 0; i < kTasks; ++i) {
    threads.emplace_back([&, i] {
      EXPECT_TRUE(start.Wait());
      results[i] =
          coordinator->ExecuteTask({"t" + std::to_string(i), "", "echo", 5, json{{"i", i}}});
    });
  }
  start.CountDown();
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status.ToString();
    ASSERT_EQ(results[i].subtasks[0].output["i"], i);
    ids.insert(results[i].task_id);
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kTasks));
  auto stats = coordinator->Stats();
  EXPECT_EQ(stats.tasks_succeeded, static_cast<std::uint64_t>(kTasks));
  auto spans = tracing_.Spans();
  EXPECT_EQ(minion::testing::Named(spans, "worker.echo").size(), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(minion::testing::Named(spans, "multiagent.task.echo").size(),
            static_cast<std::size_t>(kTasks));
}

TEST_F(AgentsTraceTest, HealthReflectsWorkersAndShutdown) {
  auto coordinator = Make(Options(true));
  auto health = coordinator->HealthCheck();
  EXPECT_EQ(health.overall, HealthState::kHealthy);
  EXPECT_EQ(coordinator->ListWorkers().size(), 5u);
  ASSERT_TRUE(coordinator->UnregisterWorker("writer-1").ok());
  EXPECT_EQ(coordinator->ListWorkers().size(), 4u);
  TaskResult r = coordinator->ExecuteTask({"Write", "", "copywriting", 5, {}});
  EXPECT_EQ(r.status.code(), StatusCode::kNotFound);
  ASSERT_TRUE(coordinator->Shutdown().ok());
  EXPECT_EQ(coordinator->HealthCheck().overall, HealthState::kUnhealthy);
}

}  // namespace
}  // namespace minion::agents
