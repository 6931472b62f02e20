#include <gtest/gtest.h>

#include <map>
#include <string>

#include "minion/propagation/b3.h"
#include "minion/propagation/carriers.h"
#include "minion/propagation/jaeger.h"
#include "propagation/test_util.h"

namespace minion::propagation {
namespace {

using testing::MakeSpanContext;

constexpr char kTraceHex[] = "463ac35c9f6413ad48485a3953bb6124";
constexpr char kSpanHex[] = "a2fb4a1d1a96d312";

trace::Context ExtractWith(const trace::TextMapPropagator& p,
                           std::vector<std::pair<std::string, std::string>> headers) {
  HttpHeaderCarrier carrier(headers);
  return p.Extract(carrier, trace::Context());
}

// --- B3 -----------------------------------------------------------------------------------------

TEST(B3PropagatorTest, SingleHeaderInject) {
  std::map<std::string, std::string> headers;
  MapCarrier carrier(headers);
  B3Propagator p(B3Propagator::Encoding::kSingleHeader);
  p.Inject(trace::Context(MakeSpanContext(kTraceHex, kSpanHex, 1)), carrier);
  EXPECT_EQ(headers, (std::map<std::string, std::string>{
                         {"b3", "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1"}}));
  headers.clear();
  p.Inject(trace::Context(MakeSpanContext(kTraceHex, kSpanHex, 0)), carrier);
  EXPECT_EQ(headers["b3"], "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-0");
  EXPECT_EQ(p.Fields(), std::vector<std::string>{"b3"});
}

TEST(B3PropagatorTest, MultiHeaderInject) {
  std::map<std::string, std::string> headers;
  MapCarrier carrier(headers);
  B3Propagator(B3Propagator::Encoding::kMultiHeader)
      .Inject(trace::Context(MakeSpanContext(kTraceHex, kSpanHex, 1)), carrier);
  EXPECT_EQ(headers,
            (std::map<std::string, std::string>{
                {"X-B3-TraceId", kTraceHex}, {"X-B3-SpanId", kSpanHex}, {"X-B3-Sampled", "1"}}));
}

TEST(B3PropagatorTest, InjectsNothingForInvalidContext) {
  std::map<std::string, std::string> headers;
  MapCarrier carrier(headers);
  B3Propagator().Inject(trace::Context(), carrier);
  B3Propagator(B3Propagator::Encoding::kMultiHeader).Inject(trace::Context(), carrier);
  EXPECT_TRUE(headers.empty());
}

TEST(B3PropagatorTest, SingleHeaderExtractVariants) {
  B3Propagator p;
  auto ctx = ExtractWith(p, {{"b3", "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1"}});
  ASSERT_TRUE(ctx.HasSpan());
  EXPECT_EQ(ctx.span_context().trace_id().ToHex(), kTraceHex);
  EXPECT_EQ(ctx.span_context().span_id().ToHex(), kSpanHex);
  EXPECT_TRUE(ctx.span_context().IsSampled());
  EXPECT_TRUE(ctx.span_context().IsRemote());

  // 64-bit trace id is left-padded; debug means sampled; parent span id accepted.
  ctx = ExtractWith(p, {{"B3", "48485a3953bb6124-a2fb4a1d1a96d312-d-0020000000000001"}});
  ASSERT_TRUE(ctx.HasSpan());
  EXPECT_EQ(ctx.span_context().trace_id().ToHex(), "000000000000000048485a3953bb6124");
  EXPECT_TRUE(ctx.span_context().IsSampled());

  // No sampling state: deferred, i.e. not sampled here.
  ctx = ExtractWith(p, {{"b3", "48485a3953bb6124-a2fb4a1d1a96d312"}});
  ASSERT_TRUE(ctx.HasSpan());
  EXPECT_FALSE(ctx.span_context().IsSampled());

  ctx = ExtractWith(p, {{"b3", "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-0"}});
  ASSERT_TRUE(ctx.HasSpan());
  EXPECT_FALSE(ctx.span_context().IsSampled());
}

TEST(B3PropagatorTest, SingleHeaderMalformedIsIgnored) {
  B3Propagator p;
  for (const char* bad : {"0", "1", "d", "", "-", "463ac35c9f6413ad48485a3953bb6124",
                          "463ac35c9f6413ad48485a3953bb612-a2fb4a1d1a96d312-1",   // 31 digits
                          "463AC35C9F6413AD48485A3953BB6124-a2fb4a1d1a96d312-1",  // upper case
                          "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d31-1",   // short span
                          "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-2",  // bad state
                          "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1-xyz",
                          "00000000000000000000000000000000-a2fb4a1d1a96d312-1",
                          "463ac35c9f6413ad48485a3953bb6124-0000000000000000-1"}) {
    EXPECT_FALSE(ExtractWith(p, {{"b3", bad}}).HasSpan()) << bad;
  }
}

TEST(B3PropagatorTest, MultiHeaderExtractVariants) {
  B3Propagator p;  // extraction accepts both encodings whatever the inject encoding
  auto ctx = ExtractWith(
      p, {{"x-b3-traceid", kTraceHex}, {"x-b3-spanid", kSpanHex}, {"x-b3-sampled", "1"}});
  ASSERT_TRUE(ctx.HasSpan());
  EXPECT_TRUE(ctx.span_context().IsSampled());
  EXPECT_EQ(ctx.span_context().trace_id().ToHex(), kTraceHex);

  ctx = ExtractWith(p, {{"X-B3-TraceId", "48485a3953bb6124"},
                        {"X-B3-SpanId", kSpanHex},
                        {"X-B3-Flags", "1"},
                        {"X-B3-Sampled", "0"}});
  ASSERT_TRUE(ctx.HasSpan());
  EXPECT_EQ(ctx.span_context().trace_id().ToHex(), "000000000000000048485a3953bb6124");
  EXPECT_TRUE(ctx.span_context().IsSampled());  // debug wins

  ctx = ExtractWith(
      p, {{"X-B3-TraceId", kTraceHex}, {"X-B3-SpanId", kSpanHex}, {"X-B3-Sampled", "true"}});
  EXPECT_TRUE(ctx.span_context().IsSampled());
  ctx = ExtractWith(p, {{"X-B3-TraceId", kTraceHex}, {"X-B3-SpanId", kSpanHex}});
  ASSERT_TRUE(ctx.HasSpan());
  EXPECT_FALSE(ctx.span_context().IsSampled());

  EXPECT_FALSE(ExtractWith(p, {{"X-B3-TraceId", kTraceHex}}).HasSpan());
  EXPECT_FALSE(
      ExtractWith(
          p, {{"X-B3-TraceId", kTraceHex}, {"X-B3-SpanId", kSpanHex}, {"X-B3-Sampled", "maybe"}})
          .HasSpan());
  EXPECT_FALSE(ExtractWith(p, {{"X-B3-TraceId", "xyz"}, {"X-B3-SpanId", kSpanHex}}).HasSpan());
}

TEST(B3PropagatorTest, SingleHeaderTakesPrecedence) {
  auto ctx =
      ExtractWith(B3Propagator(), {{"b3", "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1"},
                                   {"X-B3-TraceId", "0000000000000000000000000000abcd"},
                                   {"X-B3-SpanId", "000000000000abcd"}});
  EXPECT_EQ(ctx.span_context().trace_id().ToHex(), kTraceHex);
}

// --- Jaeger ------------------------------------------------------------------------------------

TEST(JaegerPropagatorTest, InjectsTraceHeaderAndBaggage) {
  std::map<std::string, std::string> headers;
  MapCarrier carrier(headers);
  trace::Context ctx = trace::Context(MakeSpanContext(kTraceHex, kSpanHex, 1))
                           .WithBaggage(trace::Baggage().Set("user", "alice smith").Set("n", "1"));
  JaegerPropagator().Inject(ctx, carrier);
  EXPECT_EQ(headers,
            (std::map<std::string, std::string>{
                {"uber-trace-id", "463ac35c9f6413ad48485a3953bb6124:a2fb4a1d1a96d312:0:01"},
                {"uberctx-user", "alice%20smith"},
                {"uberctx-n", "1"}}));
  headers.clear();
  JaegerPropagator().Inject(trace::Context(MakeSpanContext(kTraceHex, kSpanHex, 0)), carrier);
  EXPECT_EQ(headers["uber-trace-id"], "463ac35c9f6413ad48485a3953bb6124:a2fb4a1d1a96d312:0:00");
}

TEST(JaegerPropagatorTest, ExtractsPlainAndUrlEncoded) {
  JaegerPropagator p;
  for (const char* value : {"463ac35c9f6413ad48485a3953bb6124:a2fb4a1d1a96d312:0:1",
                            "463ac35c9f6413ad48485a3953bb6124%3Aa2fb4a1d1a96d312%3A0%3A01",
                            "463ac35c9f6413ad48485a3953bb6124%3aa2fb4a1d1a96d312%3a0%3a1",
                            "463AC35C9F6413AD48485A3953BB6124:A2FB4A1D1A96D312:0:03"}) {
    auto ctx = ExtractWith(p, {{"uber-trace-id", value}});
    ASSERT_TRUE(ctx.HasSpan()) << value;
    EXPECT_EQ(ctx.span_context().trace_id().ToHex(), kTraceHex);
    EXPECT_EQ(ctx.span_context().span_id().ToHex(), kSpanHex);
    EXPECT_TRUE(ctx.span_context().IsSampled());
    EXPECT_TRUE(ctx.span_context().IsRemote());
  }
}

TEST(JaegerPropagatorTest, ShortIdsArePaddedAndFlagsDecoded) {
  JaegerPropagator p;
  auto ctx = ExtractWith(p, {{"uber-trace-id", "abc:1:0:0"}});
  ASSERT_TRUE(ctx.HasSpan());
  EXPECT_EQ(ctx.span_context().trace_id().ToHex(), "00000000000000000000000000000abc");
  EXPECT_EQ(ctx.span_context().span_id().ToHex(), "0000000000000001");
  EXPECT_FALSE(ctx.span_context().IsSampled());
  ctx = ExtractWith(p, {{"uber-trace-id", "abc:1:0:2"}});  // debug
  EXPECT_TRUE(ctx.span_context().IsSampled());
  ctx = ExtractWith(p, {{"uber-trace-id", "abc:1:5:04"}});  // only the firehose bit
  EXPECT_FALSE(ctx.span_context().IsSampled());
}

TEST(JaegerPropagatorTest, MalformedTraceHeaderIsIgnored) {
  JaegerPropagator p;
  for (const char* bad :
       {"", "abc", "abc:1:0", "abc:1:0:1:9", "0:1:0:1", "abc:0:0:1", "xyz:1:0:1", "abc:1:0:100",
        "abc:1:0:", ":1:0:1", "463ac35c9f6413ad48485a3953bb61240:1:0:1",
        "abc:12345678901234567:0:1", "abc%3:1:0:1", "abc%3A1%3A0%3Azz"}) {
    EXPECT_FALSE(ExtractWith(p, {{"uber-trace-id", bad}}).HasSpan()) << bad;
  }
}

TEST(JaegerPropagatorTest, ExtractsBaggageMergedWithExisting) {
  std::vector<std::pair<std::string, std::string>> headers{
      {"uber-trace-id", "abc:1:0:1"}, {"uberctx-user", "alice%20smith"},
      {"Uberctx-Tenant", "t1"},       {"uberctx-", "no key"},
      {"uberctx-bad", "%zz"},         {"other", "x"}};
  HttpHeaderCarrier carrier(headers);
  trace::Context base = trace::Context().WithBaggage(trace::Baggage().Set("existing", "1"));
  auto ctx = JaegerPropagator().Extract(carrier, base);
  EXPECT_EQ(ctx.baggage().Get("user"), "alice smith");
  EXPECT_EQ(ctx.baggage().Get("Tenant"), "t1");
  EXPECT_EQ(ctx.baggage().Get("existing"), "1");
  EXPECT_EQ(ctx.baggage().Get("bad"), std::nullopt);
  EXPECT_EQ(ctx.baggage().entries().size(), 3u);
}

}  // namespace
}  // namespace minion::propagation
