#include "minion/propagation/trace_context.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "minion/propagation/carriers.h"
#include "propagation/test_util.h"

namespace minion::propagation {
namespace {

using testing::MakeSpanContext;

constexpr char kTraceHex[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kSpanHex[] = "00f067aa0ba902b7";
constexpr char kValid[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

bool Parses(std::string_view value) {
  trace::SpanContext sc;
  return ParseTraceParent(value, &sc);
}

trace::Context ExtractFrom(const std::map<std::string, std::string>& headers) {
  MapCarrier carrier(headers);
  return W3CTraceContextPropagator().Extract(carrier, trace::Context());
}

TEST(ParseTraceParentTest, ParsesValidHeaderAsRemote) {
  trace::SpanContext sc;
  ASSERT_TRUE(ParseTraceParent(kValid, &sc));
  EXPECT_EQ(sc.trace_id().ToHex(), kTraceHex);
  EXPECT_EQ(sc.span_id().ToHex(), kSpanHex);
  EXPECT_TRUE(sc.IsSampled());
  EXPECT_TRUE(sc.IsRemote());
  EXPECT_TRUE(sc.IsValid());
}

TEST(ParseTraceParentTest, FailureLeavesOutputUntouched) {
  trace::SpanContext sc = MakeSpanContext(kTraceHex, kSpanHex, 1);
  EXPECT_FALSE(ParseTraceParent("garbage", &sc));
  EXPECT_EQ(sc.trace_id().ToHex(), kTraceHex);
  EXPECT_FALSE(sc.IsRemote());
}

TEST(ParseTraceParentTest, VersionRules) {
  // ff is forbidden; any other version is accepted by its first four fields.
  EXPECT_FALSE(Parses("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_TRUE(Parses("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_TRUE(Parses("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_TRUE(Parses(
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like"));
  // A future version's extra data must follow a '-'.
  EXPECT_FALSE(Parses(
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.what-the-future-will-not-be-like"));
  // Version 00 must be exactly 55 characters.
  EXPECT_FALSE(Parses(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like"));
  EXPECT_FALSE(Parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-"));
  // Version must be two hex digits.
  EXPECT_FALSE(Parses("0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(Parses("000-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(Parses("0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(Parses("A0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}

TEST(ParseTraceParentTest, FieldLengths) {
  EXPECT_FALSE(Parses(""));
  EXPECT_FALSE(Parses("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"));    // trace 31
  EXPECT_FALSE(Parses("00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01"));  // trace 33
  EXPECT_FALSE(Parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01"));    // span 15
  EXPECT_FALSE(Parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b77-01"));  // span 17
  EXPECT_FALSE(Parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"));    // flags 1
  EXPECT_FALSE(Parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011"));  // flags 3
  EXPECT_FALSE(Parses("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"));   // separators
  EXPECT_FALSE(Parses("004bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-"));
}

TEST(ParseTraceParentTest, UpperCaseHexIsInvalid) {
  EXPECT_FALSE(Parses("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(Parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"));
  EXPECT_FALSE(Parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A"));
}

TEST(ParseTraceParentTest, NonHexCharactersAreInvalid) {
  for (char bad : std::string("gxz-_. G@/:`{")) {
    for (std::size_t pos : {0u, 1u, 3u, 20u, 34u, 36u, 51u, 53u, 54u}) {
      std::string s = kValid;
      s[pos] = bad;
      EXPECT_FALSE(Parses(s)) << s;
    }
  }
}

TEST(ParseTraceParentTest, AllZeroIdsAreInvalid) {
  EXPECT_FALSE(Parses("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_FALSE(Parses("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
  EXPECT_TRUE(Parses("00-00000000000000000000000000000001-0000000000000001-01"));
}

TEST(ParseTraceParentTest, FlagsKeepSampledAndRandomOnly) {
  trace::SpanContext sc;
  ASSERT_TRUE(ParseTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &sc));
  EXPECT_FALSE(sc.IsSampled());
  ASSERT_TRUE(ParseTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", &sc));
  EXPECT_EQ(sc.trace_flags().value(), 0x03);
  // Unknown flags are cleared, the sampled bit survives.
  ASSERT_TRUE(ParseTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", &sc));
  EXPECT_EQ(sc.trace_flags().value(), 0x03);
  ASSERT_TRUE(ParseTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-08", &sc));
  EXPECT_EQ(sc.trace_flags().value(), 0x00);
}

TEST(ParseTraceParentTest, SurroundingWhitespaceIsIgnored) {
  EXPECT_TRUE(Parses(std::string(" \t") + kValid + "\t "));
  EXPECT_TRUE(Parses(std::string(" ") + kValid));
  EXPECT_FALSE(Parses(std::string(kValid).replace(2, 1, " ")));
}

TEST(FormatTraceParentTest, RoundTrips) {
  auto sc = MakeSpanContext(kTraceHex, kSpanHex, 1);
  char out[kTraceParentSize];
  FormatTraceParent(sc, out);
  EXPECT_EQ(std::string(out, kTraceParentSize), kValid);
  trace::SpanContext back;
  ASSERT_TRUE(ParseTraceParent(std::string_view(out, kTraceParentSize), &back));
  EXPECT_EQ(back, sc);

  FormatTraceParent(MakeSpanContext(kTraceHex, kSpanHex, 0x02), out);
  EXPECT_EQ(std::string(out + 53, 2), "02");
  FormatTraceParent(MakeSpanContext(kTraceHex, kSpanHex, 0x81), out);  // unknown bit dropped
  EXPECT_EQ(std::string(out + 53, 2), "01");
}

TEST(W3CTraceContextPropagatorTest, InjectsTraceparentAndTracestate) {
  auto state = trace::TraceState::FromHeader("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  ASSERT_TRUE(state.has_value());
  trace::SpanContext sc(testing::TraceIdFromHex(kTraceHex), testing::SpanIdFromHex(kSpanHex),
                        trace::TraceFlags(1), false,
                        std::make_shared<const trace::TraceState>(*state));
  std::map<std::string, std::string> headers;
  MapCarrier carrier(headers);
  W3CTraceContextPropagator().Inject(trace::Context(sc), carrier);
  EXPECT_EQ(headers["traceparent"], kValid);
  EXPECT_EQ(headers["tracestate"], "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
}

TEST(W3CTraceContextPropagatorTest, InjectsNothingForInvalidContext) {
  std::map<std::string, std::string> headers;
  MapCarrier carrier(headers);
  W3CTraceContextPropagator().Inject(trace::Context(), carrier);
  EXPECT_TRUE(headers.empty());
}

TEST(W3CTraceContextPropagatorTest, ExtractKeepsTraceparentWhenTracestateInvalid) {
  auto ctx = ExtractFrom({{"traceparent", kValid}, {"tracestate", "Bad Key=1"}});
  ASSERT_TRUE(ctx.HasSpan());
  EXPECT_TRUE(ctx.span_context().IsRemote());
  EXPECT_EQ(ctx.span_context().trace_id().ToHex(), kTraceHex);
  EXPECT_TRUE(ctx.span_context().trace_state().empty());
}

TEST(W3CTraceContextPropagatorTest, ExtractReadsTracestate) {
  auto ctx = ExtractFrom({{"traceparent", kValid}, {"tracestate", "a=1 , b@c=x y,\t"}});
  ASSERT_TRUE(ctx.HasSpan());
  const auto& state = ctx.span_context().trace_state();
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state.Get("a"), "1");
  EXPECT_EQ(state.Get("b@c"), "x y");
}

TEST(W3CTraceContextPropagatorTest, MalformedTraceparentLeavesContextUnchanged) {
  auto parent = MakeSpanContext("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", 1);
  MapCarrier::Map headers{{"traceparent", "00-xyz"}, {"tracestate", "a=1"}};
  MapCarrier carrier(headers);
  auto ctx = W3CTraceContextPropagator().Extract(carrier, trace::Context(parent));
  EXPECT_EQ(ctx.span_context(), parent);
  EXPECT_FALSE(ctx.span_context().IsRemote());
  auto none = ExtractFrom({{"tracestate", "a=1"}});
  EXPECT_FALSE(none.HasSpan());
}

TEST(W3CTraceContextPropagatorTest, DuplicatedTraceparentHeadersAreInvalid) {
  // W3C test suite: two traceparent headers must not be accepted.
  std::vector<std::pair<std::string, std::string>> headers{
      {"traceparent", kValid},
      {"Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}};
  HttpHeaderCarrier carrier(headers);
  EXPECT_FALSE(W3CTraceContextPropagator().Extract(carrier, trace::Context()).HasSpan());
}

TEST(W3CTraceContextPropagatorTest, RepeatedTracestateHeadersAreCombined) {
  std::vector<std::pair<std::string, std::string>> headers{
      {"traceparent", kValid}, {"tracestate", "a=1"}, {"TraceState", "b=2"}};
  HttpHeaderCarrier carrier(headers);
  auto ctx = W3CTraceContextPropagator().Extract(carrier, trace::Context());
  EXPECT_EQ(ctx.span_context().trace_state().ToHeader(), "a=1,b=2");

  // The same key in two headers is a duplicate: the tracestate goes, the traceparent stays.
  headers[2].second = "a=2";
  ctx = W3CTraceContextPropagator().Extract(carrier, trace::Context());
  EXPECT_TRUE(ctx.HasSpan());
  EXPECT_TRUE(ctx.span_context().trace_state().empty());
}

TEST(W3CTraceContextPropagatorTest, ExtractKeepsBaggageOfIncomingContext) {
  trace::Context base = trace::Context().WithBaggage(trace::Baggage().Set("k", "v"));
  MapCarrier::Map headers{{"traceparent", kValid}};
  MapCarrier carrier(headers);
  auto ctx = W3CTraceContextPropagator().Extract(carrier, base);
  EXPECT_TRUE(ctx.HasSpan());
  EXPECT_EQ(ctx.baggage().Get("k"), "v");
}

TEST(W3CTraceContextPropagatorTest, FieldsNameBothHeaders) {
  EXPECT_EQ(W3CTraceContextPropagator().Fields(),
            (std::vector<std::string>{"traceparent", "tracestate"}));
}

}  // namespace
}  // namespace minion::propagation
