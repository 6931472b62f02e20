// Per-worker circuit breakers in the registry: a worker whose breaker is open is routed around
// to another worker of the same capability; with none left, Acquire fails fast naming every
// open breaker; a half-open worker gets bounded probes and comes back after successes.
#include <gtest/gtest.h>

#include "minion/agents/registry.h"

namespace minion::agents {
namespace {

WorkerMetadata Meta(const std::string& id) {
  WorkerMetadata m;
  m.agent_id = id;
  m.role = "coder";
  m.capabilities = {"code_generation"};
  return m;
}

resilience::CircuitBreakerOptions Options() {
  resilience::CircuitBreakerOptions o;
  o.consecutive_failures = 2;
  o.open_duration = std::chrono::seconds(10);
  o.half_open_max_calls = 1;
  return o;
}

TEST(WorkerRoutingTest, AnOpenWorkerIsRoutedAroundAndNoneLeftFailsFast) {
  SimulatedClock clock;
  WorkerRegistry registry;
  registry.SetBreakerOptions(Options(), &clock);
  ASSERT_TRUE(registry.Add(Meta("coder-1")).ok());
  ASSERT_TRUE(registry.Add(Meta("coder-2")).ok());

  // coder-1 fails twice: its breaker opens.
  for (int i = 0; i < 2; ++i) {
    auto w = registry.Acquire("code_generation", RoutingStrategy::kRoundRobin);
    ASSERT_TRUE(w.ok());
    registry.Release(*w, *w == "coder-1" ? UnavailableError("down") : Status::Ok());
    if (*w != "coder-1") --i;  // only count coder-1's failures
  }
  ASSERT_EQ(registry.Breaker("coder-1")->state(), resilience::BreakerState::kOpen);
  for (int i = 0; i < 10; ++i) {
    auto w = registry.Acquire("code_generation", RoutingStrategy::kRoundRobin);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(*w, "coder-2");
    registry.Release(*w, Status::Ok());
  }
  // Least-in-flight prefers the idle coder-1 but its breaker refuses: coder-2 gets it.
  auto w = registry.Acquire("code_generation", RoutingStrategy::kLeastInFlight);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, "coder-2");
  registry.Release(*w, UnavailableError("down"));
  w = registry.Acquire("code_generation", RoutingStrategy::kLeastInFlight);
  ASSERT_TRUE(w.ok());
  registry.Release(*w, UnavailableError("down"));
  ASSERT_EQ(registry.Breaker("coder-2")->state(), resilience::BreakerState::kOpen);

  auto none = registry.Acquire("code_generation", RoutingStrategy::kLeastInFlight);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(
      none.status().message().find("no worker offering capability 'code_generation' is available"),
      std::string::npos);
  EXPECT_NE(none.status().message().find("'worker:coder-1' is open"), std::string::npos)
      << none.status().message();
  EXPECT_NE(none.status().message().find("'worker:coder-2' is open"), std::string::npos)
      << none.status().message();

  // After the open duration coder-1 gets one probe; a success closes it.
  clock.Advance(std::chrono::seconds(10));
  w = registry.Acquire("code_generation", RoutingStrategy::kRoundRobin);
  ASSERT_TRUE(w.ok());
  auto second = registry.Acquire("code_generation", RoutingStrategy::kRoundRobin);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*w, *second);  // each half-open worker admits one probe
  auto third = registry.Acquire("code_generation", RoutingStrategy::kRoundRobin);
  EXPECT_FALSE(third.ok());
  registry.Release(*w, Status::Ok());
  registry.Release(*second, Status::Ok());
  EXPECT_EQ(registry.Breaker("coder-1")->state(), resilience::BreakerState::kClosed);
  EXPECT_EQ(registry.Breaker("coder-2")->state(), resilience::BreakerState::kClosed);
}

TEST(WorkerRoutingTest, AbandonedCallsReturnTheirProbeWithoutAnOutcome) {
  SimulatedClock clock;
  WorkerRegistry registry;
  registry.SetBreakerOptions(Options(), &clock);
  ASSERT_TRUE(registry.Add(Meta("coder-1")).ok());
  registry.Breaker("coder-1")->Force(resilience::BreakerState::kOpen);
  clock.Advance(std::chrono::seconds(10));
  auto w = registry.Acquire("code_generation", RoutingStrategy::kRoundRobin);
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(registry.Acquire("code_generation", RoutingStrategy::kRoundRobin).ok());
  registry.Release(*w);  // cancelled: the probe slot is free again, the state unchanged
  EXPECT_EQ(registry.Breaker("coder-1")->state(), resilience::BreakerState::kHalfOpen);
  EXPECT_TRUE(registry.Acquire("code_generation", RoutingStrategy::kRoundRobin).ok());
}

TEST(WorkerRoutingTest, WithoutBreakersRoutingIsUnchanged) {
  WorkerRegistry registry;
  ASSERT_TRUE(registry.Add(Meta("coder-1")).ok());
  for (int i = 0; i < 5; ++i) registry.Release("coder-1", UnavailableError("down"));
  auto w = registry.Acquire("code_generation", RoutingStrategy::kLeastInFlight);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(registry.Breaker("coder-1"), nullptr);
}

}  // namespace
}  // namespace minion::agents
