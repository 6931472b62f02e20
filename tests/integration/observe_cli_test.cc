// `minion run` with --log-format json and --metrics-file, as a real child process: every log
// line on stderr is JSON, the lines written inside the task carry the trace id the run
// printed, and the metrics file passes `promtool check metrics` and counts what the run did.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace minion {
namespace {

using nlohmann::json;

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

double Sample(const std::string& text, const std::string& series) {
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

class ObserveCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("minion-observe-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  int Run(const std::string& args) {
    const std::string cmd =
        "env OTEL_TRACES_EXPORTER=none MINION_LLM_PROVIDER=offline '" MINION_CLI "' " + args +
        " > '" + (dir_ / "out").string() + "' 2> '" + (dir_ / "err").string() + "'";
    return std::system(cmd.c_str());
  }
  std::filesystem::path dir_;
};

TEST_F(ObserveCliTest, RunWritesJsonLogsTiedToTheTraceAndAMetricsFilePromtoolAccepts) {
  const auto metrics = dir_ / "metrics.prom";
  ASSERT_EQ(Run("run --name 'Generate REST API' --type code_generation --json --no-trace-tree "
                "--log-format json --log-level debug --metrics-file '" +
                metrics.string() + "'"),
            0)
      << Slurp(dir_ / "err");
  const json result = json::parse(Slurp(dir_ / "out"));
  const std::string trace_id = result["trace_id"];
  ASSERT_EQ(trace_id.size(), 32u);

  std::istringstream err(Slurp(dir_ / "err"));
  std::string line;
  int lines = 0, in_task = 0;
  while (std::getline(err, line)) {
    ++lines;
    json j;
    ASSERT_NO_THROW(j = json::parse(line)) << "not JSON: " << line;
    ASSERT_TRUE(j.contains("time") && j.contains("level") && j.contains("message") &&
                j.contains("component"))
        << line;
    if (j.contains("task_id")) {
      ++in_task;
      EXPECT_EQ(j["task_id"], result["task_id"]) << line;
      EXPECT_EQ(j["trace_id"], trace_id) << line;
      EXPECT_EQ(j["span_id"].get<std::string>().size(), 16u) << line;
    }
  }
  EXPECT_GE(in_task, 1) << "no log line inside the task";

  const std::string text = Slurp(metrics);
  EXPECT_EQ(Sample(text, "minion_multiagent_tasks_total{status=\"succeeded\"}"), 1) << text;
  EXPECT_EQ(Sample(text,
                   "minion_multiagent_task_duration_seconds_count{status=\"succeeded\",type=\"code_"
                   "generation\"}"),
            1);
  EXPECT_EQ(Sample(text,
                   "minion_agent_executions_total{agent_id=\"coder-1\",agent_name=\"coder\",status="
                   "\"succeeded\"}"),
            1);
  EXPECT_GE(Sample(text, "minion_multiagent_messages_total{direction=\"sent\",type=\"task\"}"), 1);
  EXPECT_GE(
      Sample(text, "minion_multiagent_messages_total{direction=\"received\",type=\"result\"}"), 1);
  EXPECT_GE(Sample(text,
                   "minion_llm_requests_total{model=\"offline-echo-1\",provider=\"offline\",status="
                   "\"success\"}"),
            1)
      << text;
  EXPECT_EQ(Sample(text, "minion_circuit_breaker_state{name=\"llm:offline\"}"), 0);
  EXPECT_EQ(Sample(text, "minion_health_status"), 1);
  EXPECT_EQ(Sample(text, "minion_multiagent_active_workers"), 5);
  EXPECT_EQ(
      std::system(("promtool check metrics < '" + metrics.string() + "' > /dev/null 2>&1").c_str()),
      0)
      << "promtool check metrics rejected:\n"
      << text;
}

TEST_F(ObserveCliTest, BadLoggingAndResilienceConfigurationExitWithStatus2) {
  EXPECT_EQ(WEXITSTATUS(Run("run --name x --type code_generation --log-level loud")), 2);
  EXPECT_NE(Slurp(dir_ / "err").find("--log-level"), std::string::npos) << Slurp(dir_ / "err");
  std::ofstream(dir_ / "r.yaml") << "llm: {circuit_breaker: {window_sise: 3}}\n";
  EXPECT_EQ(WEXITSTATUS(Run("run --name x --type code_generation --resilience '" +
                            (dir_ / "r.yaml").string() + "'")),
            2);
  EXPECT_NE(Slurp(dir_ / "err").find("unknown key 'window_sise'"), std::string::npos)
      << Slurp(dir_ / "err");
}

}  // namespace
}  // namespace minion
