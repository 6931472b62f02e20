// Resuming a task from its ledger record, in process (the kill -9 proof with real processes is
// tests/integration/resume_cli_test.cc): which subtasks run again, what feeds their dependents,
// what the ledger and the trace say afterwards, and what is refused.
#include "minion/agents/resume.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>

#include "minion/agents/in_memory_protocol.h"
#include "minion/agents/runtime_builder.h"
#include "minion/common/json.h"
#include "minion/observability/attributes.h"
#include "support/tracing_rig.h"

namespace minion::agents {
namespace {

using minion::testing::TracingRig;
using nlohmann::json;

constexpr const char* kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kSpanId = "00f067aa0ba902b7";

// The ledger an interrupted run of a -> b -> c leaves: a succeeded, b running, c pending.
std::shared_ptr<InMemoryLedger> InterruptedLedger() {
  auto ledger = std::make_shared<InMemoryLedger>();
  Plan plan;
  plan.planner = "workflow";
  plan.subtasks = {SubtaskSpec{"a", "step", {}, 5, "", json{{"n", 1}}},
                   SubtaskSpec{"b", "step", {"a"}, 5, "", {}},
                   SubtaskSpec{"c", "step", {"b"}, 5, "", {}}};
  TaskRecord t{"task-1", "three", "workflow", 7, "running", "", "workflow", 1000, 0};
  t.input = R"({"goal":"g"})";
  t.plan = DumpJson(PlanToJson(plan));
  t.trace_id = kTraceId;
  t.span_id = kSpanId;
  t.planner_usage =
      R"([{"model":"m","provider":"p","input_tokens":100,"output_tokens":10,"llm_calls":1}])";
  EXPECT_TRUE(ledger->RecordTask(t).ok());
  SubtaskRecord a{"task-1", "a", "a", "step", "w-1", "succeeded", 2, "", 1100, 1200};
  a.output = R"({"text":"from the first run"})";
  a.usage.by_model =
      R"([{"model":"m","provider":"p","input_tokens":5,"output_tokens":6,"llm_calls":2}])";
  SubtaskRecord b{"task-1", "b", "b", "step", "w-1", "running", 1, "", 1300, 0};
  b.position = 1;
  b.dependencies = {"a"};
  SubtaskRecord c{"task-1", "c", "c", "step", "", "pending", 0, "", 0, 0};
  c.position = 2;
  c.dependencies = {"b"};
  for (const auto& s : {a, b, c}) EXPECT_TRUE(ledger->RecordSubtask(s).ok());
  return ledger;
}

class ResumeTest : public ::testing::Test {
 protected:
  std::unique_ptr<Coordinator> Make(std::shared_ptr<Ledger> ledger) {
    CoordinatorOptions o;
    o.tracer = rig_.tracer;
    o.ledger = std::move(ledger);
    o.orchestrator.retry.max_attempts = 1;
    auto created = BuildCoordinator(std::move(o), {.builtin_workers = false});
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    auto c = std::move(created).value();
    WorkerMetadata meta;
    meta.agent_id = "w-1";
    meta.capabilities = {"step"};
    EXPECT_TRUE(
        c->CreateWorker(meta, [this](const trace::Context&, const Subtask& s) -> Result<json> {
           std::lock_guard lock(mu_);
           ++calls_[s.name];
           inputs_[s.name] = s.dependency_outputs;
           s.usage->Add("p", "m", 1, 1);
           return json{{"text", "ran " + s.name}};
         }).ok());
    return c;
  }

  TracingRig rig_;
  std::mutex mu_;
  std::map<std::string, int> calls_;    // guarded by mu_
  std::map<std::string, json> inputs_;  // guarded by mu_: dependency outputs seen
};

TEST_F(ResumeTest, RunsOnlyTheUnfinishedSubtasksFedByTheStoredOutputs) {
  auto ledger = InterruptedLedger();
  auto resume = LoadResumeRequest(*ledger, "task-1");
  ASSERT_TRUE(resume.ok()) << resume.status().ToString();
  EXPECT_EQ(resume->request.name, "three");
  EXPECT_EQ(resume->request.priority, 7);
  EXPECT_EQ(resume->request.input, json({{"goal", "g"}}));
  ASSERT_EQ(resume->state.completed.size(), 1u);
  EXPECT_EQ(resume->state.completed.count("a"), 1u);

  auto c = Make(ledger);
  TaskResult r = c->ResumeTask(*resume);
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  ASSERT_TRUE(c->Shutdown().ok());
  EXPECT_EQ(r.task_id, "task-1");
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(calls_.count("a"), 0u);  // not run again
    EXPECT_EQ(calls_["b"], 1);
    EXPECT_EQ(calls_["c"], 1);
    // b got a's output exactly as the first run recorded it.
    EXPECT_EQ(inputs_["b"], json({{"a", {{"text", "from the first run"}}}}));
    EXPECT_EQ(inputs_["c"], json({{"b", {{"text", "ran b"}}}}));
  }
  ASSERT_EQ(r.subtasks.size(), 3u);
  EXPECT_TRUE(r.subtasks[0].reused);
  EXPECT_EQ(r.subtasks[0].attempts, 2);
  EXPECT_FALSE(r.subtasks[1].reused);
  EXPECT_EQ(r.reused_subtasks, 1u);
  EXPECT_EQ(r.resumed_trace_id, kTraceId);
  EXPECT_EQ(r.planner, "workflow");
  // Usage: the first run's planner (100/10, 1 call) + a's stored (5/6, 2 calls) + b and c now.
  EXPECT_EQ(r.usage.input_tokens(), 100 + 5 + 2);
  EXPECT_EQ(r.usage.output_tokens(), 10 + 6 + 2);
  EXPECT_EQ(r.usage.llm_calls(), 1 + 2 + 2);

  // The ledger: the same row, finished, first start kept; a's row untouched.
  auto task = ledger->Task("task-1");
  ASSERT_TRUE(task.ok());
  EXPECT_EQ(task->status, "succeeded");
  EXPECT_EQ(task->started_at, 1000u);
  EXPECT_EQ(task->trace_id, r.trace_id);
  EXPECT_EQ(task->usage.input_tokens, 107);
  auto subtasks = ledger->Subtasks("task-1");
  ASSERT_TRUE(subtasks.ok());
  ASSERT_EQ(subtasks->size(), 3u);
  EXPECT_EQ((*subtasks)[0].attempts, 2);
  EXPECT_EQ((*subtasks)[0].started_at, 1100u);
  EXPECT_EQ((*subtasks)[0].finished_at, 1200u);
  for (const auto& s : *subtasks) EXPECT_EQ(s.status, "succeeded") << s.name;
  EXPECT_EQ((*subtasks)[1].output, R"({"text":"ran b"})");
  auto steps = ledger->Steps("task-1");
  ASSERT_TRUE(steps.ok());
  bool resume_step = false;
  for (const auto& s : *steps) {
    if (s.kind == "resume") {
      resume_step = true;
      EXPECT_NE(s.detail.find(kTraceId), std::string::npos) << s.detail;
    }
  }
  EXPECT_TRUE(resume_step);

  // The trace: a new one, whose task span links to the interrupted task span.
  const auto spans = rig_.Spans();
  const trace::SpanData* task_span = nullptr;
  for (const auto& s : spans) {
    if (s.name.rfind(observability::kSpanMultiAgentTaskPrefix, 0) == 0) task_span = &s;
  }
  ASSERT_NE(task_span, nullptr);
  EXPECT_NE(task_span->trace_id.ToHex(), kTraceId);
  EXPECT_EQ(minion::testing::StrAttr(*task_span, observability::kAttrResumeOfTask), "task-1");
  ASSERT_EQ(task_span->links.size(), 1u);
  EXPECT_EQ(task_span->links[0].context.trace_id().ToHex(), kTraceId);
  EXPECT_EQ(task_span->links[0].context.span_id().ToHex(), kSpanId);
  const auto* why = task_span->links[0].attributes.Find(observability::kAttrResumeOfTask);
  ASSERT_NE(why, nullptr);
  EXPECT_EQ(minion::testing::Named(spans, "orchestrator.dispatch").size(), 2u);  // b and c only
}

TEST_F(ResumeTest, FailedSubtasksAndBrokenOutputsRunAgain) {
  auto ledger = InterruptedLedger();
  // A failed task: a's output was cut in the ledger, so it cannot feed b and runs again.
  auto task = ledger->Task("task-1");
  task->status = "failed";
  ASSERT_TRUE(ledger->RecordTask(*task).ok());
  SubtaskRecord a{"task-1", "a", "a", "step", "w-1", "succeeded", 1, "", 1100, 1200};
  a.output = R"({"text":"cut)";
  a.output_truncated = true;
  ASSERT_TRUE(ledger->RecordSubtask(a).ok());
  auto resume = LoadResumeRequest(*ledger, "task-1");
  ASSERT_TRUE(resume.ok()) << resume.status().ToString();
  EXPECT_TRUE(resume->state.completed.empty());
  auto c = Make(ledger);
  TaskResult r = c->ResumeTask(*resume);
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  ASSERT_TRUE(c->Shutdown().ok());
  std::lock_guard lock(mu_);
  EXPECT_EQ(calls_["a"], 1);
  EXPECT_EQ(calls_["b"], 1);
  EXPECT_EQ(calls_["c"], 1);
}

TEST(ResumeLoadTest, RefusesWithReasons) {
  auto ledger = InterruptedLedger();
  auto unknown = LoadResumeRequest(*ledger, "task-nope");
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);

  auto t = ledger->Task("task-1");
  ASSERT_TRUE(t.ok());
  TaskRecord done = *t;
  done.task_id = "done";
  done.status = "succeeded";
  ASSERT_TRUE(ledger->RecordTask(done).ok());
  auto finished = LoadResumeRequest(*ledger, "done");
  EXPECT_EQ(finished.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(finished.status().message().find("already succeeded"), std::string::npos);

  TaskRecord unplanned = *t;
  unplanned.task_id = "unplanned";
  unplanned.plan = "";
  ASSERT_TRUE(ledger->RecordTask(unplanned).ok());
  auto no_plan = LoadResumeRequest(*ledger, "unplanned");
  EXPECT_EQ(no_plan.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(no_plan.status().message().find("no plan"), std::string::npos);

  TaskRecord cut = *t;
  cut.task_id = "cut";
  cut.truncated = true;
  ASSERT_TRUE(ledger->RecordTask(cut).ok());
  EXPECT_EQ(LoadResumeRequest(*ledger, "cut").status().code(), StatusCode::kFailedPrecondition);

  TaskRecord garbled = *t;
  garbled.task_id = "garbled";
  garbled.plan = "{not json";
  ASSERT_TRUE(ledger->RecordTask(garbled).ok());
  EXPECT_EQ(LoadResumeRequest(*ledger, "garbled").status().code(), StatusCode::kFailedPrecondition);

  ASSERT_TRUE(
      ledger->RecordSubtask({"task-1", "replan/a", "a", "step", "w-1", "failed", 1, "", 1, 2})
          .ok());
  auto replanned = LoadResumeRequest(*ledger, "task-1");
  EXPECT_EQ(replanned.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(replanned.status().message().find("replanned"), std::string::npos);
}

}  // namespace
}  // namespace minion::agents
