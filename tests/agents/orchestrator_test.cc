// The orchestrator's plan runs: linear scheduling on long chains, bounded plan validation,
// duplicate replies, simulated-clock timeouts and backoff, and ledger failures that are loud.
#include <gtest/gtest.h>

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "minion/agents/coordinator.h"
#include "minion/agents/in_memory_protocol.h"
#include "minion/agents/orchestrator.h"
#include "minion/agents/runtime_builder.h"
#include "support/tracing_rig.h"

namespace minion::agents {
namespace {

using nlohmann::json;

Plan Chain(std::size_t n, bool cyclic = false) {
  Plan plan;
  plan.planner = "workflow";
  plan.subtasks.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    SubtaskSpec s;
    s.name = "s" + std::to_string(i);
    s.capability = "step";
    if (i > 0) s.dependencies.push_back("s" + std::to_string(i - 1));
    plan.subtasks.push_back(std::move(s));
  }
  if (cyclic) plan.subtasks[0].dependencies.push_back("s" + std::to_string(n - 1));
  return plan;
}

std::shared_ptr<trace::Tracer> NoopTracer() { return std::make_shared<trace::NoopTracer>(); }

OrchestratorOptions Options(Clock* clock = nullptr) {
  OrchestratorOptions o;
  o.tracer = NoopTracer();
  o.clock = clock;
  return o;
}

TEST(PlanValidationTest, FiftyThousandStepCycleGivesAShortErrorWithoutRecursion) {
  Status s = ValidatePlan(Chain(50000, /*cyclic=*/true));
  ASSERT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_LT(s.message().size(), 512u) << s.message().size() << " bytes";
  EXPECT_NE(s.message().find("cycle of 50000 subtasks"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("(49992 more)"), std::string::npos) << s.message();
  // The cycle follows dependencies: s0 waits on s49999, which waits on s49998, ...
  EXPECT_NE(s.message().find("s0 -> s49999 -> s49998"), std::string::npos) << s.message();
}

TEST(PlanValidationTest, LongChainValidatesAndOrdersIteratively) {
  Plan plan = Chain(100000);
  ASSERT_TRUE(ValidatePlan(plan).ok());
  std::reverse(plan.subtasks.begin(), plan.subtasks.end());  // dependencies listed last
  auto order = TopologicalOrder(plan);
  ASSERT_EQ(order.size(), plan.subtasks.size());
  for (std::size_t k = 0; k < order.size(); ++k) EXPECT_EQ(order[k], plan.subtasks.size() - 1 - k);
}

TEST(PlanValidationTest, LimitsOnSubtasksDependenciesAndNamesAreEnforced) {
  PlanLimits limits;
  limits.max_subtasks = 10;
  Status s = ValidatePlan(Chain(11), limits);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("11 subtasks, over the limit of 10"), std::string::npos)
      << s.message();

  Plan fan = Chain(5);
  for (int i = 0; i < 3; ++i) fan.subtasks[4].dependencies.push_back("s" + std::to_string(i));
  limits = PlanLimits{};
  limits.max_dependencies_per_subtask = 3;
  s = ValidatePlan(fan, limits);
  EXPECT_NE(s.message().find("'s4' has 4 dependencies, over the limit of 3"), std::string::npos)
      << s.message();
  limits = PlanLimits{};
  limits.max_dependencies = 6;
  s = ValidatePlan(fan, limits);
  EXPECT_NE(s.message().find("7 dependencies in all"), std::string::npos) << s.message();

  Plan long_name = Chain(1);
  long_name.subtasks[0].name = std::string(5000, 'n');
  s = ValidatePlan(long_name);
  EXPECT_NE(s.message().find("5000 bytes"), std::string::npos) << s.message();
  // Unknown dependencies are named, but an overlong name is cut.
  Plan ghost = Chain(1);
  ghost.subtasks[0].dependencies.push_back(std::string(100000, 'g'));
  s = ValidatePlan(ghost);
  EXPECT_NE(s.message().find("unknown subtask"), std::string::npos);
  EXPECT_LT(s.message().size(), 300u);
}

class OrchestratorRunTest : public ::testing::Test {
 protected:
  void TearDown() override { (void)protocol_.Shutdown(std::chrono::seconds(10)); }

  void AddWorker(std::string id, std::string capability, TaskFunction fn, Clock* clock = nullptr) {
    auto worker = std::make_shared<Worker>(
        WorkerMetadata{id, "test", {capability}, "", 5, WorkerStatus::kOffline},
        MakeFunctionHandler(std::move(fn)),
        WorkerOptions{.tracer = NoopTracer(), .max_concurrency = 4, .clock = clock});
    ASSERT_TRUE(worker->Start(protocol_).ok());
    ASSERT_TRUE(registry_.Add(worker->metadata(), worker).ok());
    workers_.push_back(worker);
  }

  InMemoryProtocol protocol_{InMemoryProtocolOptions{.tracer = NoopTracer()}};
  WorkerRegistry registry_;
  std::vector<std::shared_ptr<Worker>> workers_;
};

// Scheduling is linear: before, each step rescanned every subtask and its dependencies, so this
// took 11 s of CPU (bench/agents_bench.cc measures it now).
TEST_F(OrchestratorRunTest, TenThousandStepChainRunsInOrder) {
  constexpr std::size_t kSteps = 10000;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> out_of_order{false};
  AddWorker("w", "step", [&](const trace::Context&, const Subtask& s) -> Result<json> {
    const std::size_t i = std::stoul(s.name.substr(1));
    if (next.fetch_add(1) != i) out_of_order = true;
    // Each step sees exactly its dependency's output.
    if (i > 0 &&
        s.dependency_outputs.value("s" + std::to_string(i - 1), json()).value("i", SIZE_MAX) !=
            i - 1) {
      out_of_order = true;
    }
    return json{{"i", i}};
  });
  Orchestrator orchestrator(protocol_, registry_, Options());
  ASSERT_TRUE(orchestrator.Start().ok());
  DeclarativePlanner planner(Chain(kSteps));
  ExecutionResult r =
      orchestrator.ExecuteTask({}, "task-chain", {"chain", "", "workflow", 5, {}}, planner);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(next.load(), kSteps);
  EXPECT_FALSE(out_of_order.load());
  ASSERT_EQ(r.subtasks.size(), kSteps);
  EXPECT_EQ(r.subtasks.back().output, (json{{"i", kSteps - 1}}));
  auto subtasks = orchestrator.ledger().Subtasks("task-chain");
  ASSERT_TRUE(subtasks.ok());
  EXPECT_EQ(subtasks->size(), kSteps);
  ASSERT_TRUE(orchestrator.Shutdown().ok());
}

TEST_F(OrchestratorRunTest, CyclicPlanFailsWithABoundedMessage) {
  AddWorker("w", "step",
            [](const trace::Context&, const Subtask&) -> Result<json> { return json(); });
  Orchestrator orchestrator(protocol_, registry_, Options());
  ASSERT_TRUE(orchestrator.Start().ok());
  DeclarativePlanner planner(Chain(50000, /*cyclic=*/true));
  ExecutionResult r =
      orchestrator.ExecuteTask({}, "task-cycle", {"cycle", "", "workflow", 5, {}}, planner);
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  EXPECT_LT(r.status.message().size(), 512u);
  EXPECT_NE(r.status.message().find("cycle of 50000 subtasks"), std::string::npos)
      << r.status.message();
  ASSERT_TRUE(orchestrator.Shutdown().ok());
}

// Sends every result and error twice, as a transport that redelivers would.
class DuplicatingProtocol final : public Protocol {
 public:
  explicit DuplicatingProtocol(Protocol& inner) : inner_(inner) {}
  Status Send(const trace::Context& parent, Message message) override {
    if (message.type == MessageType::kResult || message.type == MessageType::kError) {
      Message copy = message;
      MINION_RETURN_IF_ERROR(inner_.Send(parent, std::move(message)));
      duplicates_sent.fetch_add(1);
      return inner_.Send(parent, std::move(copy));
    }
    return inner_.Send(parent, std::move(message));
  }
  Status Broadcast(const trace::Context& parent, std::string_view group, Message message) override {
    return inner_.Broadcast(parent, group, std::move(message));
  }
  Status Subscribe(std::string_view agent_id, SubscribeOptions options,
                   MessageHandler handler) override {
    return inner_.Subscribe(agent_id, std::move(options), std::move(handler));
  }
  Status Unsubscribe(std::string_view agent_id) override { return inner_.Unsubscribe(agent_id); }
  Status JoinGroup(std::string_view agent_id, std::string_view group) override {
    return inner_.JoinGroup(agent_id, group);
  }
  Status LeaveGroup(std::string_view agent_id, std::string_view group) override {
    return inner_.LeaveGroup(agent_id, group);
  }
  AccessPolicy& access_policy() override { return inner_.access_policy(); }
  Status Shutdown(std::chrono::milliseconds timeout) override { return inner_.Shutdown(timeout); }

  std::atomic<int> duplicates_sent{0};

 private:
  Protocol& inner_;
};

TEST_F(OrchestratorRunTest, DuplicateRepliesNeverRunADependentStepTwice) {
  DuplicatingProtocol duplicating(protocol_);
  std::mutex mu;
  std::map<std::string, int> runs;
  auto worker = std::make_shared<Worker>(
      WorkerMetadata{"w", "test", {"step"}, "", 5, WorkerStatus::kOffline},
      MakeFunctionHandler([&](const trace::Context&, const Subtask& s) -> Result<json> {
        std::lock_guard lock(mu);
        ++runs[s.name];
        return json{{"from", s.name}};
      }),
      WorkerOptions{.tracer = NoopTracer()});
  ASSERT_TRUE(worker->Start(duplicating).ok());  // its replies go out twice
  ASSERT_TRUE(registry_.Add(worker->metadata(), worker).ok());
  // One reply handler: a duplicate is handled in order, right after its original, so all but
  // the last step's duplicate are handled before the task can finish.
  OrchestratorOptions options = Options();
  options.reply_concurrency = 1;
  Orchestrator orchestrator(protocol_, registry_, options);
  ASSERT_TRUE(orchestrator.Start().ok());
  Plan plan = Chain(3);
  plan.subtasks.push_back(SubtaskSpec{"join", "step", {"s0", "s2"}, 5, "", {}});  // waits on two
  DeclarativePlanner planner(plan);
  ExecutionResult r =
      orchestrator.ExecuteTask({}, "task-dup", {"dup", "", "workflow", 5, {}}, planner);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_TRUE(worker->Stop().ok());
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(runs, (std::map<std::string, int>{{"join", 1}, {"s0", 1}, {"s1", 1}, {"s2", 1}}));
  }
  EXPECT_EQ(duplicating.duplicates_sent.load(), 4);
  for (const auto& o : r.subtasks) EXPECT_EQ(o.attempts, 1) << o.name;
  EXPECT_GE(orchestrator.stats().duplicate_replies, 3u);
  EXPECT_EQ(orchestrator.stats().malformed_replies, 0u);
  ASSERT_TRUE(orchestrator.Shutdown().ok());
}

// A worker answering garbage: the attempt fails with a clear error and is retried.
TEST_F(OrchestratorRunTest, MalformedReplyFailsTheAttemptClearly) {
  ASSERT_TRUE(protocol_
                  .Subscribe("liar", {},
                             [this](const trace::Context& ctx, Message m) {
                               Message reply;
                               reply.type = MessageType::kError;
                               reply.from = "liar";
                               reply.to = m.from;
                               reply.in_reply_to = m.id;
                               reply.content = json{{"error", 42}, {"code", "NOT_A_CODE"}};
                               (void)protocol_.Send(ctx, std::move(reply));
                             })
                  .ok());
  ASSERT_TRUE(
      registry_.Add(WorkerMetadata{"liar", "test", {"step"}, "", 5, WorkerStatus::kIdle}).ok());
  OrchestratorOptions options = Options();
  options.retry.max_attempts = 2;
  options.retry.initial_backoff = std::chrono::milliseconds(0);
  options.replan_on_failure = false;
  Orchestrator orchestrator(protocol_, registry_, options);
  ASSERT_TRUE(orchestrator.Start().ok());
  DeclarativePlanner planner(Chain(1));
  ExecutionResult r =
      orchestrator.ExecuteTask({}, "task-liar", {"liar", "", "workflow", 5, {}}, planner);
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument) << r.status.ToString();
  EXPECT_NE(r.status.message().find("malformed reply from worker liar"), std::string::npos)
      << r.status.message();
  EXPECT_NE(r.status.message().find("'error' must be a string"), std::string::npos)
      << r.status.message();
  EXPECT_EQ(r.subtasks.at(0).attempts, 2);
  EXPECT_EQ(orchestrator.stats().malformed_replies, 2u);
  ASSERT_TRUE(orchestrator.Shutdown().ok());
}

// Timeouts and backoff run on the injected clock: a 10-minute timeout and a 5-minute backoff
// pass in no real time.
TEST_F(OrchestratorRunTest, TimeoutAndBackoffFollowTheSimulatedClock) {
  SimulatedClock clock;
  auto started = std::make_shared<std::latch>(2);  // both attempts reached the handler
  std::atomic<int> attempts{0};
  AddWorker(
      "w", "step",
      [&, started](const trace::Context&, const Subtask& s) -> Result<json> {
        const int n = ++attempts;
        EXPECT_EQ(s.timeout, std::chrono::minutes(10));  // the limit travels with the task
        started->count_down();
        if (n == 1) {
          std::mutex mu;
          std::condition_variable_any cv;
          std::unique_lock lock(mu);
          cv.wait(lock, s.stop_token, [] { return false; });  // until cancelled
          return CancelledError("stopped");
        }
        return json{{"attempt", n}};
      },
      &clock);
  OrchestratorOptions options = Options(&clock);
  options.subtask_timeout = std::chrono::minutes(10);
  options.retry.max_attempts = 2;
  options.retry.initial_backoff = std::chrono::minutes(5);
  options.retry.max_backoff = std::chrono::minutes(5);
  options.retry.jitter = 0;
  Orchestrator orchestrator(protocol_, registry_, options);
  ASSERT_TRUE(orchestrator.Start().ok());
  DeclarativePlanner planner(Chain(1));
  auto task = std::async(std::launch::async, [&] {
    return orchestrator.ExecuteTask({}, "task-clock", {"clock", "", "workflow", 5, {}}, planner);
  });
  // The first attempt hangs until the simulated 10 minutes pass; the retry waits 5 simulated
  // minutes. Nothing moves until the clock does.
  while (task.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready) {
    clock.Advance(std::chrono::seconds(30));
  }
  ExecutionResult r = task.get();
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.subtasks.at(0).attempts, 2);
  EXPECT_EQ(r.subtasks.at(0).output, (json{{"attempt", 2}}));
  EXPECT_TRUE(started->try_wait());
  auto steps = orchestrator.ledger().Steps("task-clock");
  ASSERT_TRUE(steps.ok());
  std::vector<std::string> kinds;
  UnixNanos timeout_at = 0, result_at = 0;
  for (const auto& s : *steps) {
    kinds.push_back(s.kind);
    if (s.kind == "timeout") timeout_at = s.time;
    if (s.kind == "result") result_at = s.time;
  }
  ASSERT_NE(timeout_at, 0u);
  // Step times are simulated time: the retry came at least the 5-minute backoff later.
  EXPECT_GE(result_at - timeout_at,
            static_cast<UnixNanos>(std::chrono::nanoseconds(std::chrono::minutes(5)).count()));
  ASSERT_TRUE(orchestrator.Shutdown().ok());
}

// A ledger that cannot be written (another process holds the database lock past the busy
// timeout) fails the task loudly instead of reporting success with rows missing.
TEST_F(OrchestratorRunTest, LedgerWriteFailureFailsTheTask) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("minion-ledger-locked-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  auto ledger = OpenSqliteLedger(
      path.string(), SqliteLedgerOptions{.busy_timeout = std::chrono::milliseconds(20)});
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);

  AddWorker("w", "step", [](const trace::Context&, const Subtask&) -> Result<json> {
    return json{{"ok", true}};
  });
  OrchestratorOptions options = Options();
  options.ledger = std::shared_ptr<Ledger>(std::move(ledger).value());
  Orchestrator orchestrator(protocol_, registry_, options);
  ASSERT_TRUE(orchestrator.Start().ok());
  DeclarativePlanner planner(Chain(2));
  ExecutionResult r =
      orchestrator.ExecuteTask({}, "task-locked", {"locked", "", "workflow", 5, {}}, planner);
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable) << r.status.ToString();
  EXPECT_NE(r.status.message().find("ledger record is incomplete"), std::string::npos)
      << r.status.message();
  EXPECT_NE(r.status.message().find("locked"), std::string::npos) << r.status.message();
  // The work itself was done.
  for (const auto& o : r.subtasks) EXPECT_TRUE(o.status.ok()) << o.name;
  ASSERT_TRUE(orchestrator.Shutdown().ok());
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  std::filesystem::remove(path);
}

TEST(CoordinatorInjectionTest, CreateTakesItsPiecesAndNeedsAProtocol) {
  auto missing = Coordinator::Create(CoordinatorOptions{});
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("needs a protocol"), std::string::npos);

  auto protocol =
      std::make_shared<InMemoryProtocol>(InMemoryProtocolOptions{.tracer = NoopTracer()});
  auto ledger = std::make_shared<InMemoryLedger>();
  auto worker = std::make_shared<Worker>(
      WorkerMetadata{"echo-1", "test", {"echo"}, "", 5, WorkerStatus::kOffline},
      MakeFunctionHandler(
          [](const trace::Context&, const Subtask& s) -> Result<json> { return s.input; }),
      WorkerOptions{.tracer = NoopTracer()});
  CoordinatorOptions options;
  options.protocol = protocol;  // not owned: still usable after the coordinator shuts down
  options.ledger = ledger;
  options.workers = {worker};
  options.tracer = NoopTracer();
  auto coordinator = Coordinator::Create(std::move(options));
  ASSERT_TRUE(coordinator.ok()) << coordinator.status().ToString();
  TaskResult r = (*coordinator)->ExecuteTask({"echo", "", "echo", 5, json{{"x", 1}}});
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(r.subtasks.at(0).output, (json{{"x", 1}}));
  auto tasks = ledger->Tasks();
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ(tasks->at(0).status, "succeeded");
  ASSERT_TRUE((*coordinator)->Shutdown().ok());
  EXPECT_TRUE(protocol->Subscribe("after", {}, [](const trace::Context&, Message) {}).ok());
  EXPECT_TRUE(protocol->Shutdown().ok());

  // The LLM planner needs a provider; the direct planner does not.
  CoordinatorOptions llm;
  llm.protocol =
      std::make_shared<InMemoryProtocol>(InMemoryProtocolOptions{.tracer = NoopTracer()});
  llm.owns_protocol = true;
  llm.planner_mode = PlannerMode::kLlm;
  EXPECT_NE(Coordinator::Create(std::move(llm)).status().message().find("needs an llm::Provider"),
            std::string::npos);
  // The builder's built-in workers need one too.
  EXPECT_EQ(BuildCoordinator(CoordinatorOptions{}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace minion::agents
