#include "minion/propagation/from_env.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "minion/propagation/carriers.h"
#include "minion/propagation/composite.h"
#include "propagation/test_util.h"
#include "support/scoped_env.h"

namespace minion::propagation {
namespace {

using testing::MakeSpanContext;

std::set<std::string> FieldSet(const trace::TextMapPropagator& p) {
  auto f = p.Fields();
  return {f.begin(), f.end()};
}

std::map<std::string, std::string> InjectAll(const trace::TextMapPropagator& p) {
  trace::Context ctx =
      trace::Context(MakeSpanContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1))
          .WithBaggage(trace::Baggage().Set("k", "v"));
  std::map<std::string, std::string> headers;
  MapCarrier carrier(headers);
  p.Inject(ctx, carrier);
  return headers;
}

TEST(MakePropagatorTest, DefaultIsTraceContextAndBaggage) {
  for (const char* list : {"", "  ", "tracecontext,baggage"}) {
    auto p = MakePropagator(list);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(FieldSet(**p), (std::set<std::string>{"traceparent", "tracestate", "baggage"}));
    auto headers = InjectAll(**p);
    EXPECT_EQ(headers.count("traceparent"), 1u);
    EXPECT_EQ(headers["baggage"], "k=v");
  }
  EXPECT_EQ(FieldSet(DefaultPropagator()),
            (std::set<std::string>{"traceparent", "tracestate", "baggage"}));
  EXPECT_EQ(&DefaultPropagator(), &DefaultPropagator());
}

TEST(MakePropagatorTest, EachNameSelectsItsFormat) {
  EXPECT_EQ(FieldSet(**MakePropagator("b3")), std::set<std::string>{"b3"});
  EXPECT_EQ(InjectAll(**MakePropagator("b3multi")).count("X-B3-TraceId"), 1u);
  auto jaeger = InjectAll(**MakePropagator("jaeger"));
  EXPECT_EQ(jaeger.count("uber-trace-id"), 1u);
  EXPECT_EQ(jaeger["uberctx-k"], "v");
  auto all = InjectAll(**MakePropagator(" TraceContext , B3 ,JAEGER,baggage,b3multi"));
  for (const char* h : {"traceparent", "b3", "uber-trace-id", "baggage", "X-B3-SpanId"}) {
    EXPECT_EQ(all.count(h), 1u) << h;
  }
}

TEST(MakePropagatorTest, UnknownNamesWarnAndAreSkipped) {
  std::vector<std::string> warnings;
  ::testing::internal::CaptureStderr();
  auto p = MakePropagator("tracecontext,foo,xray,,baggage", &warnings);
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("\"foo\""), std::string::npos);
  EXPECT_NE(warnings[1].find("\"xray\""), std::string::npos);
  EXPECT_NE(err.find("unknown propagator \"foo\""), std::string::npos) << err;
  EXPECT_EQ(FieldSet(**p), (std::set<std::string>{"traceparent", "tracestate", "baggage"}));
}

TEST(MakePropagatorTest, DuplicatesAreUsedOnce) {
  auto p = MakePropagator("baggage,baggage,BAGGAGE");
  ASSERT_TRUE(p.ok());
  auto* composite = dynamic_cast<CompositePropagator*>(p->get());
  ASSERT_NE(composite, nullptr);
  EXPECT_EQ(composite->size(), 1u);
}

TEST(MakePropagatorTest, NoneInjectsNothingAndCannotBeMixed) {
  auto p = MakePropagator("none");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(InjectAll(**p).empty());
  EXPECT_TRUE((*p)->Fields().empty());
  auto mixed = MakePropagator("none,b3");
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mixed.status().message().find("none,b3"), std::string::npos);
}

TEST(MakePropagatorFromEnvTest, ReadsOtelPropagators) {
  std::map<std::string, std::string, std::less<>> env;  // read through FromEnv's lookup
  env["OTEL_PROPAGATORS"] = "b3multi";
  auto p = MakePropagatorFromEnv(nullptr, minion::testing::MapLookup(env));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(InjectAll(**p).count("X-B3-TraceId"), 1u);
  EXPECT_EQ(InjectAll(**p).count("traceparent"), 0u);

  env["OTEL_PROPAGATORS"] = "";
  p = MakePropagatorFromEnv(nullptr, minion::testing::MapLookup(env));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(InjectAll(**p).count("traceparent"), 1u);

  env.erase("OTEL_PROPAGATORS");
  p = MakePropagatorFromEnv(nullptr, minion::testing::MapLookup(env));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(FieldSet(**p), (std::set<std::string>{"traceparent", "tracestate", "baggage"}));
}

TEST(CompositePropagatorTest, LaterPropagatorWinsOnExtract) {
  auto p = MakePropagator("tracecontext,b3");
  ASSERT_TRUE(p.ok());
  std::map<std::string, std::string> headers{
      {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
      {"b3", "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1"}};
  MapCarrier carrier(headers);
  auto ctx = (*p)->Extract(carrier, trace::Context());
  EXPECT_EQ(ctx.span_context().trace_id().ToHex(), "463ac35c9f6413ad48485a3953bb6124");
  headers.erase("b3");
  ctx = (*p)->Extract(carrier, trace::Context());
  EXPECT_EQ(ctx.span_context().trace_id().ToHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(DefaultPropagatorTest, SharedAcrossThreads) {
  // First use happens concurrently too: the function-local static must be initialised once.
  std::vector<std::thread> threads;
  std::vector<int> round_trips(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &round_trips] {
      const auto sc = MakeSpanContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1);
      for (int i = 0; i < 500; ++i) {
        trace::Context ctx =
            trace::Context(sc).WithBaggage(trace::Baggage().Set("i", std::to_string(i)));
        std::map<std::string, std::string> headers;
        MapCarrier carrier(headers);
        DefaultPropagator().Inject(ctx, carrier);
        trace::Context back = DefaultPropagator().Extract(carrier, trace::Context());
        if (back.span_context() == sc && back.baggage().Get("i") == std::to_string(i)) {
          ++round_trips[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int count : round_trips) EXPECT_EQ(count, 500);
}

}  // namespace
}  // namespace minion::propagation
