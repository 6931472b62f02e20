#include "minion/agents/external_worker.h"

#include <gtest/gtest.h>

#include "support/tracing_rig.h"

namespace minion::agents {
namespace {

using minion::testing::TracingRig;

ExternalCommandOptions Helper(std::string mode) {
  ExternalCommandOptions o;
  o.argv = {MINION_AGENT_HELPER, std::move(mode)};
  o.timeout = std::chrono::seconds(20);
  return o;
}

TEST(ExternalCommandTest, PassesStdinAndTraceparentAndReadsStdout) {
  TracingRig tracing;
  auto [ctx, span] =
      observability::StartSpan(*tracing.tracer, {}, "worker.x", observability::Component::kWorker);
  auto options = Helper("echo");
  options.env["EXTRA"] = "yes";
  auto out = RunExternalCommand(ctx, options, nlohmann::json{{"subtask_id", "s1"}, {"n", 42}});
  span.End();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["input"]["n"], 42);
  EXPECT_EQ((*out)["extra"], "yes");
  std::string tp = (*out)["traceparent"];
  EXPECT_EQ(tp, "00-" + ctx.span_context().trace_id().ToHex() + "-" +
                    ctx.span_context().span_id().ToHex() + "-01");
}

TEST(ExternalCommandTest, NonZeroExitIsAnErrorWithStderr) {
  auto out = RunExternalCommand({}, Helper("fail"), nlohmann::json::object());
  EXPECT_EQ(out.status().code(), StatusCode::kInternal);
  EXPECT_NE(out.status().message().find("exited with status 3"), std::string::npos);
  EXPECT_NE(out.status().message().find("helper failed on purpose"), std::string::npos);
}

TEST(ExternalCommandTest, BadJsonIsAnError) {
  auto out = RunExternalCommand({}, Helper("badjson"), nlohmann::json::object());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("invalid JSON"), std::string::npos);
}

TEST(ExternalCommandTest, TimeoutKillsTheChild) {
  auto options = Helper("hang");
  options.timeout = std::chrono::milliseconds(200);
  auto out = RunExternalCommand({}, options, nlohmann::json::object());
  EXPECT_EQ(out.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(out.status().message().find("killed after 200 ms"), std::string::npos);
}

TEST(ExternalCommandTest, OutputLimitKillsTheChild) {
  auto options = Helper("flood");
  options.max_output_bytes = 1 << 20;
  auto out = RunExternalCommand({}, options, nlohmann::json::object());
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted);
}

TEST(ExternalCommandTest, MissingProgramIsUnavailable) {
  ExternalCommandOptions options;
  options.argv = {"/nonexistent/minion-helper"};
  auto out = RunExternalCommand({}, options, nlohmann::json::object());
  EXPECT_EQ(out.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(out.status().message().find("/nonexistent/minion-helper"), std::string::npos);
}

TEST(ExternalCommandTest, WorkerRunsHandlerInsideWorkerSpan) {
  TracingRig tracing;
  WorkerMetadata meta{"ext-1", "external", {"shell_task"}, "", 5, WorkerStatus::kOffline};
  WorkerOptions wo;
  wo.tracer = tracing.tracer;
  Worker worker(meta, MakeExternalCommandHandler(Helper("echo")), wo);
  Subtask st;
  st.task_id = "task-1";
  st.subtask_id = "s1";
  st.capability = "shell_task";
  st.input = "hello";
  auto out = worker.Handle({}, st);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["input"]["input"], "hello");
  auto spans = tracing.Spans();
  auto ws = minion::testing::Named(spans, "worker.shell_task");
  ASSERT_EQ(ws.size(), 1u);
  std::string tp = (*out)["traceparent"];
  EXPECT_NE(tp.find(ws[0]->span_id.ToHex()), std::string::npos);
  EXPECT_EQ(ws[0]->kind, trace::SpanKind::kConsumer);
}

}  // namespace
}  // namespace minion::agents
