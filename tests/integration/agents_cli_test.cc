// The `minion` binary and replanning, end to end: real child processes for the CLI, a real
// Coordinator with a scripted model reply for the replan.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <set>

#include "minion/agents/coordinator.h"
#include "minion/agents/external_worker.h"
#include "minion/agents/ledger.h"
#include "minion/agents/runtime_builder.h"
#include "offline_cli.h"
#include "support/tracing_rig.h"

namespace minion::agents {
namespace {

using minion::testing::TracingRig;
using nlohmann::json;

ExternalCommandOptions Cli(std::vector<std::string> args) {
  return minion::testing::OfflineCli(args);
}

TEST(MinionCliTest, RunSucceedsAndContinuesTheCallersTraceparent) {
  auto tid = trace::TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736").value();
  auto sid = trace::SpanId::FromHex("00f067aa0ba902b7").value();
  trace::Context caller(trace::SpanContext(tid, sid, trace::TraceFlags(1), true));
  auto out =
      RunExternalCommand(caller,
                         Cli({"run", "--name", "Generate REST API", "--type", "code_generation",
                              "--priority", "8", "--json", "--no-trace-tree"}),
                         json::object());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["status"], "succeeded");
  EXPECT_EQ((*out)["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  ASSERT_EQ((*out)["subtasks"].size(), 1u);
  EXPECT_EQ((*out)["subtasks"][0]["worker_id"], "coder-1");
  EXPECT_EQ((*out)["subtasks"][0]["capability"], "code_generation");
}

// Usage and cost in `minion run --json` (docs/usage.md): the offline model's tokens, per
// subtask and per task, and its cost 0 with or without a price table.
TEST(MinionCliTest, RunJsonReportsUsageAndCost) {
  const std::string prices = ::testing::TempDir() + "/prices-" + std::to_string(getpid()) + ".json";
  {
    std::ofstream f(prices);
    f << R"({"_note": "test", "gpt-4o": {"input_per_million": 2.5, "output_per_million": 10}})";
  }
  for (bool with_prices : {false, true}) {
    std::vector<std::string> args = {
        "run",    "--name",         "Generate REST API", "--type", "code_generation",
        "--json", "--no-trace-tree"};
    if (with_prices) args.insert(args.end(), {"--prices", prices});
    auto out = RunExternalCommand({}, Cli(args), json::object());
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const json& usage = (*out)["usage"];
    EXPECT_GT(usage["input_tokens"].get<std::int64_t>(), 0) << usage.dump();
    EXPECT_GT(usage["output_tokens"].get<std::int64_t>(), 0);
    // The coder's tool loop calls the model three times: write_file, storage_insert, the answer.
    EXPECT_EQ(usage["llm_calls"], 3);
    EXPECT_EQ(usage["cost_usd"], 0.0);  // offline: no model was called
    ASSERT_EQ((*out)["subtasks"].size(), 1u);
    EXPECT_EQ((*out)["subtasks"][0]["usage"]["input_tokens"], usage["input_tokens"]);
    EXPECT_EQ((*out)["subtasks"][0]["usage"]["output_tokens"], usage["output_tokens"]);
    EXPECT_EQ((*out)["subtasks"][0]["usage"]["by_model"][0]["provider"], "offline");
  }
  {
    std::ofstream f(prices);
    f << R"({"gpt-4o": {"input_per_million": -1, "output_per_million": 10}})";
  }
  auto bad = RunExternalCommand(
      {}, Cli({"run", "--name", "x", "--type", "code_generation", "--prices", prices}),
      json::object());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("exited with status 2"), std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("non-negative"), std::string::npos)
      << bad.status().message();
  std::filesystem::remove(prices);
}

TEST(MinionCliTest, UnofferedTypeExitsNonZeroNamingTheCapability) {
  auto out = RunExternalCommand(
      {},
      Cli({"run", "--name", "x", "--type", "quantum_teleportation", "--json", "--no-trace-tree"}),
      json::object());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("exited with status 1"), std::string::npos)
      << out.status().message();
  EXPECT_NE(out.status().message().find("'quantum_teleportation'"), std::string::npos);
}

TEST(MinionCliTest, BadFlagsExitNonZero) {
  auto out = RunExternalCommand({}, Cli({"run", "--name", "x", "--type", "y", "--priority", "11"}),
                                json::object());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("--priority"), std::string::npos);
}

// Several `minion run` processes sharing one --ledger: every task, subtask and step must land
// (before, writers that found the database locked lost their rows and still exited 0).
TEST(MinionCliTest, ConcurrentRunsSharingOneLedgerLoseNoRows) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("minion-ledger-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto db = (dir / "shared.db").string();
  const auto workflow = (dir / "wide.json").string();
  constexpr int kSubtasks = 12;
  constexpr int kProcesses = 4;
  {
    json plan = json::array();
    for (int i = 0; i < kSubtasks; ++i) {
      json s = {{"name", "s" + std::to_string(i)}, {"capability", "code_generation"}};
      if (i >= 4) s["dependencies"] = {"s" + std::to_string(i - 4)};
      plan.push_back(s);
    }
    std::ofstream(workflow) << json{{"subtasks", plan}}.dump();
  }
  std::vector<std::future<Result<json>>> runs;
  for (int p = 0; p < kProcesses; ++p) {
    runs.push_back(std::async(std::launch::async, [&, p] {
      return RunExternalCommand(
          {},
          Cli({"run", "--name", "ledger " + std::to_string(p), "--type", "workflow", "--workflow",
               workflow, "--ledger", db, "--json", "--no-trace-tree"}),
          json::object());
    }));
  }
  std::set<std::string> task_ids;
  for (auto& run : runs) {
    auto out = run.get();
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ((*out)["status"], "succeeded") << out->dump();
    task_ids.insert((*out)["task_id"].get<std::string>());
  }
  ASSERT_EQ(task_ids.size(), static_cast<std::size_t>(kProcesses));

  auto ledger = OpenSqliteLedger(db);
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  auto tasks = (*ledger)->Tasks();
  ASSERT_TRUE(tasks.ok()) << tasks.status().ToString();
  ASSERT_EQ(tasks->size(), static_cast<std::size_t>(kProcesses));
  for (const auto& t : *tasks) {
    EXPECT_TRUE(task_ids.count(t.task_id)) << t.task_id;
    EXPECT_EQ(t.status, "succeeded");
    auto subtasks = (*ledger)->Subtasks(t.task_id);
    ASSERT_TRUE(subtasks.ok());
    EXPECT_EQ(subtasks->size(), static_cast<std::size_t>(kSubtasks));
    for (const auto& s : *subtasks)
      EXPECT_EQ(s.status, "succeeded") << t.task_id << " " << s.subtask_id;
    auto steps = (*ledger)->Steps(t.task_id);
    ASSERT_TRUE(steps.ok());
    // plan, a dispatch and a result per subtask, done.
    EXPECT_EQ(steps->size(), static_cast<std::size_t>(2 + 2 * kSubtasks)) << t.task_id;
  }
  ledger->reset();
  std::filesystem::remove_all(dir);
}

// Replies with the first plan, then with the second for the replan request.
class TwoPlans final : public llm::Provider {
 public:
  std::string Name() const override { return "scripted"; }
  std::string DefaultModel() const override { return "script-1"; }
  Result<llm::ChatResponse> Chat(const trace::Context&, const llm::ChatRequest& request) override {
    llm::ChatResponse r;
    bool replan = request.messages.back().content.find("previous plan failed") != std::string::npos;
    r.content = replan ? "Second try:\n```json\n{\"subtasks\": [{\"name\": \"fix\", "
                         "\"capability\": \"good_cap\"}]}\n```"
                       : R"({"subtasks": [{"name": "try", "capability": "bad_cap"}]})";
    return r;
  }
};

TEST(ReplanTest, LlmPlannerReplansOnceAfterAFailure) {
  TracingRig tracing;
  CoordinatorOptions o;
  o.tracer = tracing.tracer;
  o.provider = std::make_shared<TwoPlans>();
  o.planner_mode = PlannerMode::kLlm;
  o.orchestrator.retry.max_attempts = 1;
  auto coordinator = BuildCoordinator(std::move(o), {.builtin_workers = false}).value();
  ASSERT_TRUE(coordinator
                  ->CreateWorker({"bad", "", {"bad_cap"}, "", 5, {}},
                                 [](const trace::Context&, const Subtask&) -> Result<json> {
                                   return InternalError("bad worker");
                                 })
                  .ok());
  ASSERT_TRUE(coordinator
                  ->CreateWorker({"good", "", {"good_cap"}, "", 5, {}},
                                 [](const trace::Context&, const Subtask&) -> Result<json> {
                                   return json{{"fixed", true}};
                                 })
                  .ok());
  TaskResult r = coordinator->ExecuteTask({"Recover", "", "anything", 5, {}});
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_TRUE(r.replanned);
  ASSERT_EQ(r.subtasks.size(), 1u);
  EXPECT_EQ(r.subtasks[0].output["fixed"], true);
  auto spans = tracing.Spans();
  ASSERT_EQ(minion::testing::Named(spans, "orchestrator.replan").size(), 1u);
  auto bad = minion::testing::Named(spans, "worker.bad_cap");
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0]->status, trace::SpanStatusCode::kError);
  auto good = minion::testing::Named(spans, "worker.good_cap");
  ASSERT_EQ(good.size(), 1u);
  EXPECT_NE(good[0]->status, trace::SpanStatusCode::kError);
  auto steps = coordinator->ledger().Steps(r.task_id);
  bool replan_step = false;
  for (const auto& s : *steps) replan_step |= s.kind == "replan";
  EXPECT_TRUE(replan_step);
}

TEST(ReplanTest, DirectPlannerDoesNotReplan) {
  TracingRig tracing;
  CoordinatorOptions o;
  o.tracer = tracing.tracer;
  o.orchestrator.retry.max_attempts = 1;
  auto coordinator = BuildCoordinator(std::move(o), {.builtin_workers = false}).value();
  ASSERT_TRUE(coordinator
                  ->CreateWorker({"bad", "", {"bad_cap"}, "", 5, {}},
                                 [](const trace::Context&, const Subtask&) -> Result<json> {
                                   return InternalError("bad worker");
                                 })
                  .ok());
  TaskResult r = coordinator->ExecuteTask({"Fail", "", "bad_cap", 5, {}});
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.replanned);
  EXPECT_NE(r.status.message().find("bad worker"), std::string::npos);
}

}  // namespace
}  // namespace minion::agents
