#include <gtest/gtest.h>

#include "minion/agents/orchestrator.h"
#include "minion/agents/registry.h"

namespace minion::agents {
namespace {

WorkerMetadata Meta(std::string id, std::vector<std::string> caps, int priority = 5) {
  WorkerMetadata m;
  m.agent_id = std::move(id);
  m.capabilities = std::move(caps);
  m.priority = priority;
  return m;
}

TEST(WorkerRegistryTest, RoundRobinCyclesThroughCapableWorkers) {
  WorkerRegistry registry;
  ASSERT_TRUE(registry.Add(Meta("a", {"x"})).ok());
  ASSERT_TRUE(registry.Add(Meta("b", {"x", "y"})).ok());
  ASSERT_TRUE(registry.Add(Meta("c", {"y"})).ok());
  std::vector<std::string> picks;
  for (int i = 0; i < 4; ++i)
    picks.push_back(registry.Acquire("x", RoutingStrategy::kRoundRobin).value());
  EXPECT_EQ(picks, (std::vector<std::string>{"a", "b", "a", "b"}));
  auto none = registry.Acquire("z", RoutingStrategy::kRoundRobin);
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("'z'"), std::string::npos);
  EXPECT_EQ(registry.Capabilities(), (std::set<std::string>{"x", "y"}));
  EXPECT_EQ(registry.Add(Meta("a", {"x"})).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.Add(Meta("d", {})).code(), StatusCode::kInvalidArgument);
}

TEST(WorkerRegistryTest, LeastInFlightPrefersIdleThenHigherPriority) {
  WorkerRegistry registry;
  ASSERT_TRUE(registry.Add(Meta("low", {"x"}, 1)).ok());
  ASSERT_TRUE(registry.Add(Meta("high", {"x"}, 9)).ok());
  EXPECT_EQ(registry.Acquire("x", RoutingStrategy::kLeastInFlight).value(),
            "high");  // tie: priority
  EXPECT_EQ(registry.Acquire("x", RoutingStrategy::kLeastInFlight).value(), "low");  // high is busy
  EXPECT_EQ(registry.Acquire("x", RoutingStrategy::kLeastInFlight).value(), "high");
  registry.Release("low");
  EXPECT_EQ(registry.Acquire("x", RoutingStrategy::kLeastInFlight).value(), "low");
  ASSERT_TRUE(registry.Remove("low").ok());
  EXPECT_EQ(registry.Acquire("x", RoutingStrategy::kLeastInFlight).value(), "high");
}

TEST(RetryPolicyTest, BackoffGrowsExponentiallyWithBoundedJitter) {
  RetryPolicy p;
  p.initial_backoff = std::chrono::milliseconds(100);
  p.multiplier = 2.0;
  p.max_backoff = std::chrono::milliseconds(350);
  p.jitter = 0.5;
  double r = 0.5;  // factor 1.0
  p.random = [&] { return r; };
  EXPECT_EQ(p.Backoff(2), std::chrono::milliseconds(100));
  EXPECT_EQ(p.Backoff(3), std::chrono::milliseconds(200));
  EXPECT_EQ(p.Backoff(4), std::chrono::milliseconds(350));  // capped
  r = 0.0;                                                  // factor 0.5
  EXPECT_EQ(p.Backoff(2), std::chrono::milliseconds(50));
  r = 1.0;  // factor 1.5
  EXPECT_EQ(p.Backoff(3), std::chrono::milliseconds(300));
  p.initial_backoff = std::chrono::milliseconds(0);
  EXPECT_EQ(p.Backoff(5), std::chrono::nanoseconds(0));
}

}  // namespace
}  // namespace minion::agents
