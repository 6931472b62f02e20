// The exposition: the Go original's family names and labels, histogram buckets, bounded
// cardinality, clean label values, cumulative exporter counts turned into counters, and
// `promtool check metrics` (the Prometheus project's own linter) passing on our output.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "minion/metrics/prometheus_metrics.h"

namespace minion::metrics {
namespace {

// The value of the sample line `series` (name with labels, exactly as exposed), or -1.
double Sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

void RecordOneOfEverything(PrometheusMetrics& m) {
  m.TaskStarted();
  m.TaskFinished("code_generation", "succeeded", 0.2);
  m.TaskStarted();
  m.TaskFinished("code_generation", "failed", 1.5);
  m.Message("task", "sent");
  m.Message("result", "received");
  m.MessageLatency("task", 0.00002);
  m.Error("orchestrator", "deadline_exceeded");
  m.WorkerEvent("registered");
  m.AgentExecution("coder-1", "coder", "succeeded", 0.1);
  m.AgentError("coder-1", "unavailable");
  m.LlmRequest("openai", "gpt-4o", "success", 1.2, 100, 50, 0.002);
  m.LlmError("openai", "gpt-4o", "unavailable");
  m.ToolCall("calculator", "success", 0.001);
  m.ToolError("calculator", "invalid_argument");
  m.StorageOperation("put", "results", "success", 0.0002);
  m.StorageError("get", "not_found");
  m.BreakerState("llm:openai", 2);
  m.BreakerTransition("llm:openai", "closed", "open");
  m.BreakerRejection("llm:openai", "open");
  m.Retry("llm:openai", "retried");
  m.RateLimited("tool:http_get");
  m.BulkheadRejection("worker:coder-1");
  m.SetActiveWorkers(5);
  m.SetWorkers("idle", 5);
  m.SetQueueDepth("coder-1", 2);
  m.SetLedgerSizes(3, 17);
  m.SetHealth(0.5);
  m.SetExporterHealth("otlp_http", {10, 1, 1, 4});
  m.SetLogStats(7, 1, 2);
}

TEST(PrometheusMetricsTest, ExposesTheGoOriginalsFamiliesWithTheirLabels) {
  PrometheusMetrics m;
  RecordOneOfEverything(m);
  const std::string text = m.Serialize();
  const char* families[] = {"minion_multiagent_tasks_total",
                            "minion_multiagent_task_duration_seconds",
                            "minion_multiagent_messages_total",
                            "minion_multiagent_message_latency_seconds",
                            "minion_multiagent_workers_total",
                            "minion_multiagent_active_workers",
                            "minion_multiagent_pending_tasks",
                            "minion_multiagent_queue_depth",
                            "minion_multiagent_task_ledger_size",
                            "minion_multiagent_progress_ledger_size",
                            "minion_multiagent_errors_total",
                            "minion_agent_executions_total",
                            "minion_agent_duration_seconds",
                            "minion_agent_errors_total",
                            "minion_llm_requests_total",
                            "minion_llm_latency_seconds",
                            "minion_llm_tokens_total",
                            "minion_llm_cost_total",
                            "minion_llm_errors_total",
                            "minion_tool_calls_total",
                            "minion_tool_duration_seconds",
                            "minion_tool_errors_total",
                            "minion_storage_operations_total",
                            "minion_storage_duration_seconds",
                            "minion_storage_errors_total",
                            "minion_health_status",
                            "minion_circuit_breaker_state",
                            "minion_tracing_spans_exported_total"};
  for (const char* f : families)
    EXPECT_NE(text.find(std::string("# TYPE ") + f + " "), std::string::npos) << f;

  EXPECT_EQ(Sample(text, "minion_multiagent_tasks_total{status=\"succeeded\"}"), 1);
  EXPECT_EQ(Sample(text, "minion_multiagent_tasks_total{status=\"failed\"}"), 1);
  EXPECT_EQ(Sample(text, "minion_multiagent_pending_tasks"), 0);
  EXPECT_EQ(Sample(text,
                   "minion_multiagent_task_duration_seconds_count{status=\"failed\",type=\"code_"
                   "generation\"}"),
            1);
  EXPECT_EQ(Sample(text,
                   "minion_multiagent_task_duration_seconds_bucket{status=\"failed\",type=\"code_"
                   "generation\",le=\"2.5\"}"),
            1);
  EXPECT_EQ(Sample(text,
                   "minion_multiagent_task_duration_seconds_bucket{status=\"failed\",type=\"code_"
                   "generation\",le=\"1\"}"),
            0);
  // Message latency buckets resolve microseconds.
  EXPECT_EQ(
      Sample(text,
             "minion_multiagent_message_latency_seconds_bucket{type=\"task\",le=\"2.5e-05\"}"),
      1);
  EXPECT_EQ(
      Sample(text, "minion_multiagent_message_latency_seconds_bucket{type=\"task\",le=\"1e-05\"}"),
      0);
  EXPECT_EQ(
      Sample(text, "minion_llm_tokens_total{model=\"gpt-4o\",provider=\"openai\",type=\"input\"}"),
      100);
  EXPECT_EQ(
      Sample(text, "minion_llm_tokens_total{model=\"gpt-4o\",provider=\"openai\",type=\"output\"}"),
      50);
  EXPECT_EQ(Sample(text, "minion_llm_cost_total{model=\"gpt-4o\",provider=\"openai\"}"), 0.002);
  EXPECT_EQ(
      Sample(text, "minion_multiagent_errors_total{component=\"llm\",error_type=\"unavailable\"}"),
      1);
  EXPECT_EQ(Sample(text, "minion_health_status"), 0.5);
  EXPECT_EQ(Sample(text, "minion_multiagent_queue_depth{agent_id=\"coder-1\"}"), 2);
  EXPECT_EQ(Sample(text, "minion_tracing_queue_size{exporter=\"otlp_http\"}"), 4);
  EXPECT_EQ(Sample(text, "minion_circuit_breaker_state{name=\"llm:openai\"}"), 2);
  // No task or message ids anywhere.
  EXPECT_EQ(text.find("task_id"), std::string::npos);
  EXPECT_EQ(text.find("message_id"), std::string::npos);
}

TEST(PrometheusMetricsTest, CumulativeCountsAdvanceCountersByTheirDifference) {
  PrometheusMetrics m;
  m.SetExporterHealth("otlp_grpc", {10, 2, 1, 0});
  m.SetExporterHealth("otlp_grpc", {25, 2, 3, 7});
  m.SetExporterHealth("otlp_grpc", {20, 2, 3, 7});  // a smaller reading never decreases a counter
  const std::string text = m.Serialize();
  EXPECT_EQ(Sample(text, "minion_tracing_spans_exported_total{exporter=\"otlp_grpc\"}"), 25);
  EXPECT_EQ(Sample(text, "minion_tracing_spans_dropped_total{exporter=\"otlp_grpc\"}"), 2);
  EXPECT_EQ(Sample(text, "minion_tracing_export_failures_total{exporter=\"otlp_grpc\"}"), 3);
}

TEST(PrometheusMetricsTest, CardinalityIsBoundedAndLabelValuesAreCleaned) {
  PrometheusMetricsOptions o;
  o.max_series_per_family = 10;
  PrometheusMetrics m(o);
  for (int i = 0; i < 100; ++i) m.ToolCall("tool-" + std::to_string(i), "success", 0.01);
  m.ToolError(std::string("bad\n\"name\xff", 10), "internal");
  const std::string text = m.Serialize();
  int series = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) series += line.rfind("minion_tool_calls_total{", 0) == 0;
  EXPECT_EQ(series, 11);  // ten named, one "other"
  EXPECT_EQ(Sample(text, "minion_tool_calls_total{status=\"other\",tool_name=\"other\"}"), 90);
  EXPECT_NE(text.find("tool_name=\"bad_\\\"name_\""), std::string::npos) << text;
}

TEST(PrometheusMetricsTest, CollectHooksRunBeforeEachSerialization) {
  PrometheusMetrics m;
  int calls = 0;
  m.AddCollectHook([&](PrometheusMetrics& self) { self.SetActiveWorkers(++calls); });
  EXPECT_EQ(Sample(m.Serialize(), "minion_multiagent_active_workers"), 1);
  EXPECT_EQ(Sample(m.Serialize(), "minion_multiagent_active_workers"), 2);
}

TEST(PrometheusMetricsTest, ConcurrentUpdatesAreAllCounted) {
  PrometheusMetrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        m.Message(i % 2 ? "task" : "result", "sent");
        m.ToolCall("tool-" + std::to_string((t + i) % 7), "success", 0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::string text = m.Serialize();
  EXPECT_EQ(Sample(text, "minion_multiagent_messages_total{direction=\"sent\",type=\"task\"}"),
            10000);
  EXPECT_EQ(Sample(text, "minion_multiagent_messages_total{direction=\"sent\",type=\"result\"}"),
            10000);
}

TEST(PrometheusMetricsTest, GlobalRecorderIsNullUntilInstalled) {
  // The null recorder accepts everything and does nothing.
  GlobalRecorder().ToolCall("x", "success", 1);
  auto m = std::make_shared<PrometheusMetrics>();
  SetGlobalRecorder(m);
  GlobalRecorder().ToolCall("x", "success", 1);
  SetGlobalRecorder(nullptr);
  GlobalRecorder().ToolCall("x", "success", 1);
  EXPECT_EQ(Sample(m->Serialize(), "minion_tool_calls_total{status=\"success\",tool_name=\"x\"}"),
            1);
  EXPECT_EQ(ErrorType(14), "unavailable");
  EXPECT_EQ(ErrorType(99), "unknown");
}

TEST(PrometheusMetricsTest, PromtoolCheckMetricsPassesOnTheExposition) {
  PrometheusMetrics m;
  RecordOneOfEverything(m);
  const auto path = std::filesystem::temp_directory_path() /
                    ("minion-metrics-" + std::to_string(::getpid()) + ".prom");
  ASSERT_TRUE(m.WriteFile(path.string()).ok());
  const std::string out = path.string() + ".out";
  const std::string cmd = "promtool check metrics < '" + path.string() + "' > '" + out + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(out);
  std::stringstream report;
  report << in.rdbuf();
  EXPECT_EQ(rc, 0) << "promtool check metrics failed:\n" << report.str();
  std::filesystem::remove(path);
  std::filesystem::remove(out);
  // And a path that cannot be written is an error naming it.
  Status s = m.WriteFile("/nonexistent-dir/m.prom");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("/nonexistent-dir/m.prom"), std::string::npos);
}

}  // namespace
}  // namespace minion::metrics
