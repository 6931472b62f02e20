#include "minion/trace/span.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "support/tracing_rig.h"

namespace minion::trace {
namespace {

using minion::testing::TracingRig;

TEST(SpanTest, EndsExactlyOnceEvenWhenEndIsCalledTwice) {
  TracingRig t;
  Span span = t.tracer->StartSpan("op");
  span.End();
  span.End();
  EXPECT_FALSE(span.IsRecording());
  EXPECT_EQ(t.spans->size(), 1u);
}

TEST(SpanTest, DestructorEndsAForgottenSpan) {
  TracingRig t;
  { Span span = t.tracer->StartSpan("forgotten"); }
  ASSERT_EQ(t.spans->size(), 1u);
  EXPECT_EQ(t.spans->GetSpans()[0].name, "forgotten");
}

TEST(SpanTest, MoveAssignmentEndsTheOverwrittenSpan) {
  TracingRig t;
  Span a = t.tracer->StartSpan("a");
  a = t.tracer->StartSpan("b");
  EXPECT_EQ(t.spans->size(), 1u);
  a.End();
  EXPECT_EQ(t.spans->size(), 2u);
}

TEST(SpanTest, ErrorIsNeverDowngradedByEnd) {
  TracingRig t;
  Span span = t.tracer->StartSpan("failing");
  span.SetStatus(SpanStatusCode::kError, "boom");
  span.SetStatus(SpanStatusCode::kUnset);  // ignored per the specification
  span.End();
  auto spans = t.spans->GetSpans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].status, SpanStatusCode::kError);
  EXPECT_EQ(spans[0].status_description, "boom");
}

TEST(SpanTest, OkIsFinalAndHasNoDescription) {
  TracingRig t;
  Span span = t.tracer->StartSpan("ok");
  span.SetStatus(SpanStatusCode::kOk, "ignored");
  span.SetStatus(SpanStatusCode::kError, "too late");
  span.End();
  auto s = t.spans->GetSpans()[0];
  EXPECT_EQ(s.status, SpanStatusCode::kOk);
  EXPECT_EQ(s.status_description, "");
}

TEST(SpanTest, RecordExceptionAddsSpecificationEvent) {
  TracingRig t;
  Span span = t.tracer->StartSpan("throws");
  span.RecordException(std::runtime_error("disk full"));
  span.End();
  auto s = t.spans->GetSpans()[0];
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].name, "exception");
  EXPECT_EQ(std::get<std::string>(*s.events[0].attributes.Find("exception.type")),
            "std::runtime_error");
  EXPECT_EQ(std::get<std::string>(*s.events[0].attributes.Find("exception.message")), "disk full");
  EXPECT_EQ(s.status, SpanStatusCode::kUnset);  // recording an exception does not set status
}

TEST(SpanTest, AttributesEventsLinksAndKindAreRecorded) {
  TracingRig t;
  SpanContext linked(*TraceId::FromHex("0af7651916cd43dd8448eb211c80319c"),
                     *SpanId::FromHex("b7ad6b7169203331"), TraceFlags(1), true);
  SpanStartOptions options;
  options.kind = SpanKind::kProducer;
  options.links = std::span<const SpanContext>(&linked, 1);
  Span span = t.tracer->StartSpan("send", {{"a", 1}, {"b", "x"}}, options);
  span.SetAttribute("c", true);
  span.AddEvent("retry", {{"attempt", 2}});
  span.UpdateName("send2");
  span.End();
  auto s = t.spans->GetSpans()[0];
  EXPECT_EQ(s.name, "send2");
  EXPECT_EQ(s.kind, SpanKind::kProducer);
  EXPECT_EQ(s.attributes.size(), 3u);
  ASSERT_EQ(s.links.size(), 1u);
  EXPECT_EQ(s.links[0].context.span_id().ToHex(), "b7ad6b7169203331");
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].name, "retry");
  EXPECT_GE(s.end_time, s.start_time);
}

TEST(SpanTest, LimitsDropAndCount) {
  SpanLimits limits;
  limits.attribute_count = 2;
  limits.event_count = 1;
  limits.attribute_value_length = 4;
  TracingRig t(nullptr, nullptr, limits);
  Span span = t.tracer->StartSpan("limited", {{"a", "abcdefgh"}, {"b", 2}, {"c", 3}});
  span.AddEvent("e1");
  span.AddEvent("e2");
  span.End();
  auto s = t.spans->GetSpans()[0];
  EXPECT_EQ(s.attributes.size(), 2u);
  EXPECT_EQ(s.attributes.dropped(), 1u);
  EXPECT_EQ(std::get<std::string>(*s.attributes.Find("a")), "abcd");
  EXPECT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.dropped_events, 1u);
}

TEST(SpanTest, ExplicitTimestampsFromInjectedClock) {
  SimulatedClock clock(1'000);
  TracingRig t(nullptr, &clock);
  Span span = t.tracer->StartSpan("timed");
  clock.Advance(std::chrono::microseconds(100));
  span.AddEvent("halfway");
  clock.Advance(std::chrono::microseconds(150));
  span.End();
  auto s = t.spans->GetSpans()[0];
  EXPECT_EQ(s.start_time, 1'000u);
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].time, 101'000u);
  EXPECT_EQ(s.end_time, 251'000u);
}

TEST(SpanTest, NonRecordingSpanIgnoresWritesButKeepsContext) {
  TracingRig t(sdk::MakeAlwaysOffSampler());
  Span span = t.tracer->StartSpan("dropped", {{"a", 1}});
  EXPECT_FALSE(span.IsRecording());
  EXPECT_TRUE(span.GetContext().IsValid());
  EXPECT_FALSE(span.GetContext().IsSampled());
  span.SetAttribute("x", 1);
  span.SetStatus(SpanStatusCode::kError, "x");
  span.End();
  EXPECT_EQ(t.spans->size(), 0u);
}

}  // namespace
}  // namespace minion::trace
