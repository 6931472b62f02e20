// `minion runs list` / `minion runs show` against ledgers written by real `minion run`
// processes: the --json output is parsed, the human output checked for escaping.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "minion/agents/external_worker.h"
#include "minion/agents/ledger.h"
#include "offline_cli.h"

namespace minion::agents {
namespace {

using nlohmann::json;

ExternalCommandOptions Cli(std::vector<std::string> args) {
  return minion::testing::OfflineCli(args);
}

// Runs the CLI through the shell for its human output and exit status.
std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen(("OTEL_TRACES_EXPORTER=none " + command + " 2>&1").c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class RunsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("minion-runs-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    db_ = (dir_ / "ledger.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string db_;
};

TEST_F(RunsCliTest, ListAndShowReadBackAWorkflowRun) {
  const auto workflow = (dir_ / "wf.json").string();
  std::ofstream(workflow) << R"([
    {"name": "design", "capability": "code_generation", "input": {"spec": "a REST API"}},
    {"name": "review", "capability": "code_review", "dependencies": ["design"]}
  ])";
  auto run = RunExternalCommand(
      {},
      Cli({"run", "--name", "Ship \x1b[31mfeature", "--type", "workflow", "--workflow", workflow,
           "--input", R"({"goal": "ship"})", "--ledger", db_, "--json", "--no-trace-tree"}),
      json::object());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const std::string task_id = (*run)["task_id"];
  const std::string trace_id = (*run)["trace_id"];

  auto list =
      RunExternalCommand({}, Cli({"runs", "list", "--ledger", db_, "--json"}), json::object());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_TRUE(list->is_array());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0]["task_id"], task_id);
  EXPECT_EQ((*list)[0]["status"], "succeeded");
  EXPECT_EQ((*list)[0]["subtasks"], 2);
  EXPECT_EQ((*list)[0]["subtasks_succeeded"], 2);
  EXPECT_EQ((*list)[0]["trace_id"], trace_id);

  auto show = RunExternalCommand({}, Cli({"runs", "show", task_id, "--ledger", db_, "--json"}),
                                 json::object());
  ASSERT_TRUE(show.ok()) << show.status().ToString();
  EXPECT_EQ((*show)["name"], "Ship \x1b[31mfeature");  // --json is exact
  EXPECT_EQ((*show)["input"], json({{"goal", "ship"}}));
  EXPECT_EQ((*show)["trace_id"], trace_id);
  EXPECT_EQ((*show)["span_id"].get<std::string>().size(), 16u);
  ASSERT_EQ((*show)["plan"]["subtasks"].size(), 2u);
  EXPECT_EQ((*show)["plan"]["subtasks"][1]["dependencies"], json::array({"design"}));
  ASSERT_EQ((*show)["subtasks"].size(), 2u);
  const auto& design = (*show)["subtasks"][0];
  EXPECT_EQ(design["name"], "design");
  EXPECT_EQ(design["status"], "succeeded");
  EXPECT_EQ(design["attempts"], 1);
  EXPECT_EQ(design["worker_id"], "coder-1");
  EXPECT_EQ(design["input"], json({{"spec", "a REST API"}}));
  // The output recorded is the one `minion run` returned for that subtask.
  EXPECT_EQ(design["output"], (*run)["subtasks"][0]["output"]);
  EXPECT_FALSE(design["output"].is_null());
  EXPECT_EQ((*show)["subtasks"][1]["dependencies"], json::array({"design"}));
  // Usage (schema 3): the same roll-ups `minion run` printed, per task and per subtask; the
  // offline model's calls cost 0.
  EXPECT_EQ((*show)["usage"]["input_tokens"], (*run)["usage"]["input_tokens"]);
  EXPECT_EQ((*show)["usage"]["output_tokens"], (*run)["usage"]["output_tokens"]);
  EXPECT_EQ((*show)["usage"]["llm_calls"], (*run)["usage"]["llm_calls"]);
  EXPECT_GT((*show)["usage"]["input_tokens"].get<int>(), 0);
  EXPECT_EQ((*show)["usage"]["cost_usd"], 0.0);
  EXPECT_EQ(design["usage"]["input_tokens"], (*run)["subtasks"][0]["usage"]["input_tokens"]);
  EXPECT_EQ(design["usage"]["llm_calls"], (*run)["subtasks"][0]["usage"]["llm_calls"]);
  EXPECT_FALSE((*show)["steps"].empty());

  // Human output: the escape sequence in the task name is shown escaped, never raw.
  auto [code, text] = Shell(std::string(MINION_CLI) + " runs show " + task_id + " --ledger " + db_);
  EXPECT_EQ(code, 0) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_NE(text.find(trace_id), std::string::npos) << text;
  EXPECT_NE(text.find("[succeeded] review"), std::string::npos) << text;
  EXPECT_NE(text.find("usage:    " + std::to_string((*run)["usage"]["input_tokens"].get<int>()) +
                      " in / "),
            std::string::npos)
      << text;
  auto [list_code, list_text] = Shell(std::string(MINION_CLI) + " runs list --ledger " + db_);
  EXPECT_EQ(list_code, 0) << list_text;
  EXPECT_EQ(list_text.find('\x1b'), std::string::npos) << list_text;
  EXPECT_NE(list_text.find(task_id), std::string::npos) << list_text;
}

TEST_F(RunsCliTest, FailedTaskShowsItsError) {
  auto run = RunExternalCommand({},
                                Cli({"run", "--name", "x", "--type", "code_generation", "--ledger",
                                     db_, "--json", "--no-trace-tree"}),
                                json::object());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  auto bad = RunExternalCommand({},
                                Cli({"run", "--name", "y", "--type", "no_such_capability",
                                     "--ledger", db_, "--json", "--no-trace-tree"}),
                                json::object());
  ASSERT_FALSE(bad.ok());
  auto list =
      RunExternalCommand({}, Cli({"runs", "list", "--ledger", db_, "--json"}), json::object());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1]["status"], "failed");
  const std::string failed_id = (*list)[1]["task_id"];
  auto show = RunExternalCommand({}, Cli({"runs", "show", failed_id, "--ledger", db_, "--json"}),
                                 json::object());
  ASSERT_TRUE(show.ok()) << show.status().ToString();
  EXPECT_NE((*show)["error"].get<std::string>().find("no_such_capability"), std::string::npos)
      << *show;
}

TEST_F(RunsCliTest, UnknownTaskAndMissingLedgerAreClearErrors) {
  auto [missing_code, missing] =
      Shell(std::string(MINION_CLI) + " runs list --ledger " + db_ + ".nope");
  EXPECT_EQ(missing_code, 1) << missing;
  EXPECT_NE(missing.find("no ledger file at"), std::string::npos) << missing;
  EXPECT_FALSE(std::filesystem::exists(db_ + ".nope"));  // not created by reading

  ASSERT_TRUE(OpenSqliteLedger(db_).ok());
  auto [empty_code, empty] = Shell(std::string(MINION_CLI) + " runs list --ledger " + db_);
  EXPECT_EQ(empty_code, 0) << empty;
  EXPECT_NE(empty.find("No tasks"), std::string::npos) << empty;
  auto [code, text] = Shell(std::string(MINION_CLI) + " runs show task-nope --ledger " + db_);
  EXPECT_EQ(code, 1) << text;
  EXPECT_NE(text.find("'task-nope' is not in the ledger"), std::string::npos) << text;
}

TEST(RunFlagsTest, ParallelismAndBackoffFlagsAreCheckedAndAccepted) {
  const std::string cli =
      std::string(MINION_CLI) + " run --name x --type code_generation --no-trace-tree";
  auto [zero_code, zero] = Shell(cli + " --max-parallel 0");
  EXPECT_EQ(zero_code, 2) << zero;
  EXPECT_NE(zero.find("--max-parallel"), std::string::npos) << zero;
  auto [order_code, order] = Shell(cli + " --initial-backoff 100 --max-backoff 10");
  EXPECT_EQ(order_code, 2) << order;
  EXPECT_NE(order.find("--max-backoff (10 ms) is below --initial-backoff (100 ms)"),
            std::string::npos)
      << order;
  auto [ok_code, ok] = Shell("MINION_LLM_PROVIDER=offline " + cli +
                             " --max-parallel 1 --initial-backoff 1 --max-backoff 2");
  EXPECT_EQ(ok_code, 0) << ok;
}

}  // namespace
}  // namespace minion::agents
