#include "minion/sdk/tracer_provider.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "minion/sdk/simple_span_processor.h"
#include "support/scoped_env.h"
#include "support/tracing_rig.h"

namespace minion::sdk {
namespace {

using minion::testing::TracingRig;

TEST(TracerProviderTest, SameScopeGivesSameTracerAndScopeIsRecorded) {
  TracingRig t;
  EXPECT_EQ(t.provider->GetTracer("minion.test", "1.0"), t.tracer);
  EXPECT_NE(t.provider->GetTracer("other"), t.tracer);
  t.tracer->StartSpan("x").End();
  auto s = t.spans->GetSpans()[0];
  ASSERT_NE(s.scope, nullptr);
  EXPECT_EQ(s.scope->name, "minion.test");
  EXPECT_EQ(s.scope->version, "1.0");
  ASSERT_NE(s.resource, nullptr);
  EXPECT_EQ(std::get<std::string>(*s.resource->attributes.Find("service.name")), "test-service");
}

TEST(TracerProviderTest, SpansAfterShutdownAreNotExported) {
  TracingRig t;
  trace::Span open = t.tracer->StartSpan("open");
  t.provider->Shutdown();
  open.End();
  t.tracer->StartSpan("late").End();
  EXPECT_EQ(t.spans->size(), 0u);
  EXPECT_FALSE(t.tracer->Enabled());
}

TEST(TracerProviderTest, ChildInheritsSampledFlagAndTraceState) {
  TracingRig t;
  auto state = trace::TraceState().Set("vendor", "abc");
  ASSERT_TRUE(state.has_value());
  trace::SpanContext remote(*trace::TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736"),
                            *trace::SpanId::FromHex("00f067aa0ba902b7"), trace::TraceFlags(1), true,
                            std::make_shared<const trace::TraceState>(*state));
  trace::Context ctx(remote);
  trace::SpanStartOptions options;
  options.parent = &ctx;
  trace::Span span = t.tracer->StartSpan("child", options);
  EXPECT_TRUE(span.GetContext().IsSampled());
  EXPECT_EQ(span.GetContext().trace_state().Get("vendor").value_or(""), "abc");
}

TEST(TracerProviderTest, SpanLimitsFromEnvironment) {
  std::map<std::string, std::string, std::less<>> env;  // read through FromEnv's lookup
  env["OTEL_ATTRIBUTE_COUNT_LIMIT"] = "10";
  env["OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"] = "5";
  env["OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"] = "64";
  env["OTEL_SPAN_EVENT_COUNT_LIMIT"] = "3";
  env["OTEL_SPAN_LINK_COUNT_LIMIT"] = "2";
  env["OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"] = "4";
  auto l = SpanLimitsFromEnv(minion::testing::MapLookup(env));
  EXPECT_EQ(l.attribute_count, 5u);  // the span-specific variable wins
  EXPECT_EQ(l.attribute_value_length, 64u);
  EXPECT_EQ(l.event_count, 3u);
  EXPECT_EQ(l.link_count, 2u);
  EXPECT_EQ(l.attributes_per_event, 4u);
  EXPECT_EQ(l.attributes_per_link, 128u);
  for (const char* v : {"OTEL_ATTRIBUTE_COUNT_LIMIT", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
                        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_SPAN_EVENT_COUNT_LIMIT",
                        "OTEL_SPAN_LINK_COUNT_LIMIT", "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"})
    env.erase(v);
  auto d = SpanLimitsFromEnv(minion::testing::MapLookup(env));
  EXPECT_EQ(d.attribute_count, 128u);
  EXPECT_EQ(d.attribute_value_length, std::numeric_limits<std::size_t>::max());
}

TEST(TracerProviderTest, MultipleProcessorsEachReceiveTheSpan) {
  auto a = std::make_unique<exporters::InMemorySpanExporter>();
  auto b = std::make_unique<exporters::InMemorySpanExporter>();
  auto sa = a->storage();
  auto sb = b->storage();
  TracerProviderOptions o;
  o.processors.push_back(std::make_unique<SimpleSpanProcessor>(std::move(a)));
  o.processors.push_back(std::make_unique<SimpleSpanProcessor>(std::move(b)));
  o.merge_environment_resource = false;
  auto provider = TracerProvider::Create(std::move(o));
  provider->GetTracer("t")->StartSpan("both", {{"k", "v"}}).End();
  ASSERT_EQ(sa->size(), 1u);
  ASSERT_EQ(sb->size(), 1u);
  EXPECT_EQ(sa->GetSpans()[0].span_id, sb->GetSpans()[0].span_id);
  EXPECT_EQ(std::get<std::string>(*sb->GetSpans()[0].attributes.Find("k")), "v");
}

}  // namespace
}  // namespace minion::sdk
