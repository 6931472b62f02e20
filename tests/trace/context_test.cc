#include "minion/trace/context.h"

#include <gtest/gtest.h>

#include <thread>

#include "support/tracing_rig.h"

namespace minion::trace {
namespace {

using minion::testing::TracingRig;

TEST(ContextTest, ExplicitParentMakesChildInSameTrace) {
  TracingRig t;
  Span root = t.tracer->StartSpan("root");
  Context ctx = Context().WithSpan(root);
  SpanStartOptions options;
  options.parent = &ctx;
  Span child = t.tracer->StartSpan("child", options);
  EXPECT_EQ(child.GetContext().trace_id(), root.GetContext().trace_id());
  child.End();
  root.End();
  auto spans = t.spans->GetSpans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].parent_span_id, root.GetContext().span_id());
  EXPECT_FALSE(spans[1].HasParent());
}

TEST(ContextTest, AttachedContextIsCurrentUntilScopeEnds) {
  TracingRig t;
  Span root = t.tracer->StartSpan("root");
  {
    Scope scope = Context().WithSpan(root).Attach();
    EXPECT_EQ(Context::Current().span_context().span_id(), root.GetContext().span_id());
    Span child = t.tracer->StartSpan("implicit-child");
    EXPECT_EQ(child.GetContext().trace_id(), root.GetContext().trace_id());
    {
      Scope inner = Context().Attach();
      EXPECT_FALSE(Context::Current().HasSpan());
    }
    EXPECT_TRUE(Context::Current().HasSpan());
  }
  EXPECT_FALSE(Context::Current().HasSpan());
}

TEST(ContextTest, CurrentContextIsPerThread) {
  TracingRig t;
  Span root = t.tracer->StartSpan("root");
  Scope scope = Context().WithSpan(root).Attach();
  bool other_thread_has_span = true;
  std::thread([&] { other_thread_has_span = Context::Current().HasSpan(); }).join();
  EXPECT_FALSE(other_thread_has_span);
}

TEST(ContextTest, NewRootIgnoresParent) {
  TracingRig t;
  Span root = t.tracer->StartSpan("root");
  Scope scope = Context().WithSpan(root).Attach();
  SpanStartOptions options;
  options.new_root = true;
  Span other = t.tracer->StartSpan("other", options);
  EXPECT_NE(other.GetContext().trace_id(), root.GetContext().trace_id());
}

TEST(ContextTest, RemoteParentIsRecordedAsRemote) {
  TracingRig t;
  SpanContext remote(*TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736"),
                     *SpanId::FromHex("00f067aa0ba902b7"), TraceFlags(1), /*is_remote=*/true);
  Context ctx(remote);
  SpanStartOptions options;
  options.parent = &ctx;
  t.tracer->StartSpan("server", options).End();
  auto s = t.spans->GetSpans()[0];
  EXPECT_EQ(s.trace_id, remote.trace_id());
  EXPECT_EQ(s.parent_span_id, remote.span_id());
  EXPECT_TRUE(s.parent_is_remote);
}

TEST(ContextTest, NoopTracerPropagatesParentContext) {
  NoopTracer noop;
  SpanContext remote(*TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736"),
                     *SpanId::FromHex("00f067aa0ba902b7"), TraceFlags(1), true);
  Context ctx(remote);
  SpanStartOptions options;
  options.parent = &ctx;
  Span s = noop.StartSpan("x", options);
  EXPECT_FALSE(s.IsRecording());
  EXPECT_EQ(s.GetContext().trace_id(), remote.trace_id());
}

}  // namespace
}  // namespace minion::trace
