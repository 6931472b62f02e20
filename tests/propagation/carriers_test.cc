#include "minion/propagation/carriers.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "minion/propagation/from_env.h"
#include "minion/propagation/trace_context.h"
#include "propagation/test_util.h"
#include "support/scoped_env.h"

namespace minion::propagation {
namespace {

constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(MapCarrierTest, ExactKeys) {
  std::map<std::string, std::string> m{{"traceparent", "x"}};
  MapCarrier c(m);
  EXPECT_EQ(c.Get("traceparent"), "x");
  EXPECT_EQ(c.Get("Traceparent"), std::nullopt);
  c.Set("traceparent", "y");
  c.Set("b", "2");
  EXPECT_EQ(m, (std::map<std::string, std::string>{{"traceparent", "y"}, {"b", "2"}}));
  EXPECT_EQ(c.Keys(), (std::vector<std::string>{"b", "traceparent"}));
}

TEST(MapCarrierTest, ConstMapIsReadOnly) {
  const std::map<std::string, std::string> m{{"a", "1"}};
  MapCarrier c(m);
  c.Set("b", "2");
  EXPECT_EQ(c.Get("a"), "1");
  EXPECT_EQ(c.Get("b"), std::nullopt);
}

TEST(UnorderedMapCarrierTest, ExactKeys) {
  std::unordered_map<std::string, std::string> m;
  UnorderedMapCarrier c(m);
  c.Set("k", "v");
  EXPECT_EQ(c.Get("k"), "v");
  EXPECT_EQ(c.Get("K"), std::nullopt);
  EXPECT_EQ(c.Keys(), std::vector<std::string>{"k"});
}

TEST(HttpHeaderCarrierTest, CaseInsensitiveOverPairs) {
  std::vector<std::pair<std::string, std::string>> h{{"TraceParent", "x"}, {"Other", "o"}};
  HttpHeaderCarrier c(h);
  EXPECT_EQ(c.Get("traceparent"), "x");
  EXPECT_EQ(c.Get("TRACEPARENT"), "x");
  EXPECT_EQ(c.Get("missing"), std::nullopt);
  c.Set("traceparent", "y");  // replaces, whatever the case
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(c.Get("TraceParent"), "y");
}

TEST(HttpHeaderCarrierTest, CaseInsensitiveOverMultimapAndJoinsRepeats) {
  std::multimap<std::string, std::string> h{{"Baggage", "a=1"}, {"baggage", "b=2"}, {"X", "x"}};
  HttpHeaderCarrier c(h);
  auto first = c.Get("BAGGAGE");
  EXPECT_EQ(first, "a=1,b=2");
  auto x = c.Get("x");
  EXPECT_EQ(first, "a=1,b=2");  // still valid after another Get
  EXPECT_EQ(x, "x");
  auto keys = c.Keys();
  EXPECT_EQ(keys.size(), 2u);
  c.Set("BAGGAGE", "c=3");
  EXPECT_EQ(h.count("Baggage") + h.count("baggage"), 0u);
  EXPECT_EQ(c.Get("baggage"), "c=3");
}

TEST(EnvironmentCarrierTest, VariableNames) {
  EXPECT_EQ(EnvironmentCarrier::ToVariableName("traceparent"), "TRACEPARENT");
  EXPECT_EQ(EnvironmentCarrier::ToVariableName("uber-trace-id"), "UBER_TRACE_ID");
  EXPECT_EQ(EnvironmentCarrier::ToVariableName("X-B3-TraceId"), "X_B3_TRACEID");
}

TEST(EnvironmentCarrierTest, ReadsGivenMapAndInjectsIntoChildEnvironment) {
  std::map<std::string, std::string> env{
      {"TRACEPARENT", kTraceparent}, {"TRACESTATE", "a=1"}, {"BAGGAGE", "k=v"}};
  EnvironmentCarrier in(env);
  trace::Context ctx = DefaultPropagator().Extract(in, trace::Context());
  ASSERT_TRUE(ctx.HasSpan());
  EXPECT_EQ(ctx.span_context().trace_state().Get("a"), "1");
  EXPECT_EQ(ctx.baggage().Get("k"), "v");

  std::map<std::string, std::string> child_env;
  EnvironmentCarrier out(&child_env);
  DefaultPropagator().Inject(ctx, out);
  EXPECT_EQ(child_env, env);
}

TEST(EnvironmentCarrierTest, ReadsProcessEnvironment) {
  // EnvironmentCarrier reads the process environment itself; ScopedEnv restores it.
  minion::testing::ScopedEnv env;
  env.Set("TRACEPARENT", kTraceparent);
  env.Set("BAGGAGE", "from=env");
  EnvironmentCarrier carrier;
  EXPECT_EQ(carrier.Get("traceparent"), kTraceparent);
  auto keys = carrier.Keys();
  EXPECT_NE(std::find(keys.begin(), keys.end(), "TRACEPARENT"), keys.end());
  trace::Context ctx = DefaultPropagator().Extract(carrier, trace::Context());
  EXPECT_TRUE(ctx.HasSpan());
  EXPECT_EQ(ctx.baggage().Get("from"), "env");
  carrier.Set("traceparent", "ignored");  // no inject target: a no-op, never setenv
  EXPECT_EQ(std::string(std::getenv("TRACEPARENT")), kTraceparent);
  env.Unset("TRACEPARENT");
  env.Unset("BAGGAGE");
  EXPECT_EQ(carrier.Get("traceparent"), std::nullopt);
}

}  // namespace
}  // namespace minion::propagation
