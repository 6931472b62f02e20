// Log lines written inside a task carry that task's trace id and the span id of a span the
// real pipeline exported: a Coordinator on the in-memory transport, a worker whose handler
// logs, the SDK exporting through a SimpleSpanProcessor into an InMemorySpanExporter, and the
// async logger writing JSON lines that the test parses.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "logging/capture_sink.h"
#include "minion/agents/coordinator.h"
#include "minion/agents/runtime_builder.h"
#include "minion/exporters/in_memory_exporter.h"
#include "minion/logging/logging.h"
#include "minion/observability/tracing.h"
#include "minion/sdk/simple_span_processor.h"
#include "minion/sdk/tracer_provider.h"

namespace minion::logging {
namespace {

using nlohmann::json;

TEST(LoggingTraceTest, LinesInsideATaskCarryItsTraceAndAnExportedSpan) {
  auto sink = std::make_shared<testing::CaptureSink>();
  LoggingOptions log_options;
  log_options.level = Level::kInfo;
  log_options.sink = sink;
  ASSERT_TRUE(Init(log_options).ok());

  auto exporter = std::make_unique<exporters::InMemorySpanExporter>();
  auto storage = exporter->storage();
  sdk::TracerProviderOptions trace_options;
  trace_options.processors.push_back(
      std::make_unique<sdk::SimpleSpanProcessor>(std::move(exporter)));
  trace_options.merge_environment_resource = false;
  auto provider = sdk::TracerProvider::Create(std::move(trace_options));

  agents::CoordinatorOptions options;
  options.tracer = provider->GetTracer("logging-test");
  options.worker_options.tracer = options.tracer;
  options.orchestrator.retry.max_attempts = 1;
  auto coordinator = agents::BuildCoordinator(std::move(options), {.builtin_workers = false});
  ASSERT_TRUE(coordinator.ok()) << coordinator.status().ToString();
  agents::WorkerMetadata meta;
  meta.agent_id = "echo-1";
  meta.role = "echo";
  meta.capabilities = {"echo"};
  auto worker =
      (*coordinator)
          ->CreateWorker(meta, [](const trace::Context&, const agents::Subtask& s) -> Result<json> {
            Info("handler", "working on it", {{"input", s.input.dump()}});
            if (s.input.value("fail", false)) return UnavailableError("asked to fail");
            return json{{"echo", s.input}};
          });
  ASSERT_TRUE(worker.ok()) << worker.status().ToString();

  std::map<std::string, std::string> trace_of_task;  // task id -> trace id
  for (int i = 0; i < 3; ++i) {
    agents::TaskRequest request;
    request.name = "t" + std::to_string(i);
    request.type = "echo";
    request.input = json{{"n", i}, {"fail", i == 2}};
    auto result = (*coordinator)->ExecuteTask(request);
    EXPECT_EQ(result.ok(), i != 2) << result.status.ToString();
    trace_of_task[result.task_id] = result.trace_id;
  }
  ASSERT_TRUE((*coordinator)->Shutdown().ok());
  Shutdown();
  provider->ForceFlush();

  std::map<std::string, const trace::SpanData*> spans_by_id;
  const auto spans = storage->GetSpans();
  for (const auto& s : spans) spans_by_id[s.span_id.ToHex()] = &s;

  int handler_lines = 0, coordinator_lines = 0, failure_lines = 0;
  for (const auto& line : sink->lines()) {
    const json j = json::parse(line);
    ASSERT_TRUE(j.contains("task_id")) << line;
    const std::string task_id = j["task_id"];
    ASSERT_TRUE(trace_of_task.count(task_id)) << line;
    EXPECT_EQ(j["trace_id"], trace_of_task[task_id]) << line;
    auto span = spans_by_id.find(j["span_id"].get<std::string>());
    ASSERT_NE(span, spans_by_id.end()) << "span of this line was not exported: " << line;
    EXPECT_EQ(span->second->trace_id.ToHex(), j["trace_id"]);
    if (j["component"] == "handler") {
      ++handler_lines;
      EXPECT_EQ(span->second->name, "worker.echo") << line;
      EXPECT_EQ(j["agent_id"], "echo-1");
      EXPECT_FALSE(j["subtask"].get<std::string>().empty());
    } else if (j["component"] == "worker") {
      ++failure_lines;
      EXPECT_EQ(j["message"], "subtask failed");
      EXPECT_NE(j["error"].get<std::string>().find("asked to fail"), std::string::npos);
    } else if (j["component"] == "coordinator") {
      ++coordinator_lines;
      EXPECT_EQ(span->second->name, "multiagent.task.echo") << line;
    }
  }
  EXPECT_EQ(handler_lines, 3);
  EXPECT_EQ(failure_lines, 1);
  EXPECT_EQ(coordinator_lines, 3);
  provider->Shutdown();
}

}  // namespace
}  // namespace minion::logging
