#include "minion/observability/tracing.h"

#include <gtest/gtest.h>

#include "minion/exporters/stdout_exporter.h"
#include "minion/observability/setup.h"
#include "minion/sdk/simple_span_processor.h"
#include "support/tracing_rig.h"

namespace minion::observability {
namespace {

using minion::testing::TracingRig;

std::string Str(const trace::SpanData& s, std::string_view key) {
  const auto* v = s.attributes.Find(key);
  return v ? trace::AttributeValueToString(*v) : "<missing>";
}

const trace::SpanData& Named(const std::vector<trace::SpanData>& spans, std::string_view name) {
  for (const auto& s : spans)
    if (s.name == name) return s;
  ADD_FAILURE() << "no span named " << name;
  static trace::SpanData none;
  return none;
}

TEST(FacadeTest, SeedSpanNamesAttributesAndTree) {
  TracingRig t;
  trace::Tracer& tracer = *t.tracer;
  {
    auto [task_ctx, task] = StartMultiAgentTaskSpan(tracer, trace::Context(), "abc-123",
                                                    "Generate REST API", "code_generation", 8);
    auto [send_ctx, send] = StartProtocolSpan(tracer, task_ctx, "send", "task", "msg-456");
    auto [worker_ctx, worker] =
        StartWorkerSpan(tracer, send_ctx, "worker-789", "code_generation", "abc-123");
    auto [llm_ctx, llm] = StartLlmSpan(tracer, worker_ctx, "openai", "gpt-4");
    EndSpan(llm);
    auto [tool_ctx, tool] = StartToolSpan(tracer, worker_ctx, "write_file");
    EndSpan(tool);
    auto [storage_ctx, storage] = StartStorageSpan(tracer, worker_ctx, "insert", "sqlite");
    EndSpan(storage);
    EndSpan(worker);
    EndSpan(send);
    auto [orch_ctx, orch] = StartOrchestratorSpan(tracer, task_ctx, "orch-1", "plan");
    EndSpan(orch);
    EndSpan(task);
  }
  auto spans = t.spans->GetSpans();
  ASSERT_EQ(spans.size(), 7u);
  const auto& task = Named(spans, "multiagent.task.code_generation");
  EXPECT_EQ(Str(task, "multiagent.task.id"), "abc-123");
  EXPECT_EQ(Str(task, "multiagent.task.name"), "Generate REST API");
  EXPECT_EQ(Str(task, "multiagent.task.type"), "code_generation");
  EXPECT_EQ(std::get<std::int64_t>(*task.attributes.Find("multiagent.task.priority")), 8);
  EXPECT_EQ(Str(task, "minion.component"), "multiagent");
  const auto& send = Named(spans, "protocol.send");
  EXPECT_EQ(send.kind, trace::SpanKind::kProducer);
  EXPECT_EQ(Str(send, "operation"), "send");
  EXPECT_EQ(Str(send, "multiagent.message.type"), "task");
  EXPECT_EQ(Str(send, "multiagent.message.id"), "msg-456");
  EXPECT_EQ(send.parent_span_id, task.span_id);
  const auto& worker = Named(spans, "worker.code_generation");
  EXPECT_EQ(worker.kind, trace::SpanKind::kConsumer);
  EXPECT_EQ(Str(worker, "multiagent.worker.id"), "worker-789");
  EXPECT_EQ(Str(worker, "multiagent.worker.capability"), "code_generation");
  EXPECT_EQ(Str(worker, "multiagent.task.id"), "abc-123");
  EXPECT_EQ(worker.parent_span_id, send.span_id);
  const auto& llm = Named(spans, "llm.openai.gpt-4");
  EXPECT_EQ(llm.kind, trace::SpanKind::kClient);
  EXPECT_EQ(Str(llm, "gen_ai.provider.name"), "openai");
  EXPECT_EQ(Str(llm, "gen_ai.request.model"), "gpt-4");
  EXPECT_EQ(llm.parent_span_id, worker.span_id);
  EXPECT_EQ(Named(spans, "tool.write_file").parent_span_id, worker.span_id);
  EXPECT_EQ(Str(Named(spans, "storage.insert"), "db.system.name"), "sqlite");
  const auto& orch = Named(spans, "orchestrator.plan");
  EXPECT_EQ(Str(orch, "multiagent.orchestrator.id"), "orch-1");
  EXPECT_EQ(Str(orch, "operation"), "plan");
  for (const auto& s : spans) EXPECT_EQ(s.trace_id, task.trace_id);
  // The tree printout nests them as the seed draws it.
  const std::string tree = exporters::FormatTraceTree(spans);
  EXPECT_NE(tree.find("└─ multiagent.task.code_generation [multiagent]"), std::string::npos)
      << tree;
  EXPECT_NE(tree.find("llm.openai.gpt-4 [llm] CLIENT"), std::string::npos) << tree;
}

TEST(FacadeTest, EndSpanWithErrorSetsErrorAndExceptionEventAndOkNeverOverwrites) {
  TracingRig t;
  trace::Tracer& tracer = *t.tracer;
  auto [ctx, span] = StartWorkerSpan(tracer, trace::Context(), "w", "testing", "t1");
  span.SetStatus(trace::SpanStatusCode::kError, "first failure");
  EndSpan(span);  // the seed's EndSpan(span, nil): must not turn ERROR into OK
  auto [ctx2, span2] = StartWorkerSpan(tracer, trace::Context(), "w", "testing", "t2");
  EndSpan(span2, UnavailableError("worker crashed"));
  auto spans = t.spans->GetSpans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].status, trace::SpanStatusCode::kError);
  EXPECT_EQ(spans[0].status_description, "first failure");
  EXPECT_EQ(spans[1].status, trace::SpanStatusCode::kError);
  EXPECT_EQ(spans[1].status_description, "UNAVAILABLE: worker crashed");
  ASSERT_EQ(spans[1].events.size(), 1u);
  EXPECT_EQ(spans[1].events[0].name, "exception");
  EXPECT_EQ(trace::AttributeValueToString(*spans[1].events[0].attributes.Find("exception.message")),
            "worker crashed");
}

TEST(FacadeTest, GlobalTracerIsNoopBeforeInitAndRecordsAfter) {
  ASSERT_TRUE(ShutdownTracer().ok());
  auto [ctx, span] = StartMultiAgentTaskSpan(trace::Context(), "id", "name", "research", 1);
  EXPECT_FALSE(span.IsRecording());

  auto exporter = std::make_unique<exporters::InMemorySpanExporter>();
  auto storage = exporter->storage();
  std::vector<std::unique_ptr<sdk::SpanProcessor>> extra;
  extra.push_back(std::make_unique<sdk::SimpleSpanProcessor>(std::move(exporter)));
  TracingConfig config;
  config.exporter = "none";
  config.service_name = "facade-test";
  config.environment = "test";
  ASSERT_TRUE(InitGlobalTracer(config, std::move(extra)).ok());
  {
    auto [task_ctx, task] = StartMultiAgentTaskSpan(trace::Context(), "id", "name", "research", 1);
    auto [w_ctx, w] = StartWorkerSpan(task_ctx, "w1", "research", "id");
    EXPECT_TRUE(w.IsRecording());
  }
  ASSERT_TRUE(ShutdownTracer().ok());
  auto spans = storage->GetSpans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].trace_id, spans[1].trace_id);
  const auto* svc = spans[0].resource->attributes.Find("service.name");
  EXPECT_EQ(trace::AttributeValueToString(*svc), "facade-test");
  EXPECT_EQ(trace::AttributeValueToString(
                *spans[0].resource->attributes.Find("deployment.environment.name")),
            "test");
  // After shutdown: no-op again.
  auto [c3, s3] = StartWorkerSpan(trace::Context(), "w", "c", "t");
  EXPECT_FALSE(s3.IsRecording());
}

TEST(FacadeTest, DisabledTracingStillPropagatesContext) {
  TracingConfig config;
  config.enabled = false;
  ASSERT_TRUE(InitGlobalTracer(config).ok());
  trace::SpanContext remote(*trace::TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736"),
                            *trace::SpanId::FromHex("00f067aa0ba902b7"), trace::TraceFlags(1),
                            true);
  auto [ctx, span] = StartWorkerSpan(trace::Context(remote), "w", "c", "t");
  EXPECT_FALSE(span.IsRecording());
  EXPECT_EQ(ctx.span_context().trace_id(), remote.trace_id());
  ASSERT_TRUE(ShutdownTracer().ok());
}

}  // namespace
}  // namespace minion::observability
