// The breaker's state machine on a simulated clock: thresholds over the sliding window,
// consecutive failures, slow calls, the open duration, bounded half-open probes, and stale
// outcomes ignored.
#include <gtest/gtest.h>

#include "minion/resilience/circuit_breaker.h"

namespace minion::resilience {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

CircuitBreakerOptions Small() {
  CircuitBreakerOptions o;
  o.window_size = 10;
  o.minimum_calls = 4;
  o.failure_rate_threshold = 0.5;
  o.consecutive_failures = 0;  // tests enable it where they need it
  o.slow_call_duration = seconds(1);
  o.slow_call_rate_threshold = 1.0;
  o.open_duration = seconds(30);
  o.half_open_max_calls = 2;
  return o;
}

void Succeed(CircuitBreaker& b) {
  auto p = b.TryAcquire();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  b.OnSuccess(*p);
}
void Fail(CircuitBreaker& b) {
  auto p = b.TryAcquire();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  b.OnFailure(*p);
}

TEST(CircuitBreakerTest, OpensWhenTheFailureRateReachesTheThresholdOverMinimumCalls) {
  SimulatedClock clock;
  CircuitBreaker b("dep", Small(), &clock);
  std::vector<BreakerTransition> seen;
  std::vector<std::string> reasons;
  b.AddListener([&](const BreakerTransition& t) {
    seen.push_back(t);
    reasons.push_back(t.reason);
  });
  Fail(b);
  Fail(b);
  Succeed(b);  // 2 of 3: below minimum_calls, stays closed
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  Succeed(b);  // 2 of 4 = 50%: opens
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].from, BreakerState::kClosed);
  EXPECT_EQ(seen[0].to, BreakerState::kOpen);
  EXPECT_EQ(reasons[0], "failure rate 50% >= 50% over the last 4 calls");
}

TEST(CircuitBreakerTest, StaysClosedBelowTheThresholdAndTheWindowSlides) {
  SimulatedClock clock;
  CircuitBreaker b("dep", Small(), &clock);
  for (int i = 0; i < 10; ++i) Succeed(b);
  // 4 failures in a window of 10: 40%.
  for (int i = 0; i < 4; ++i) Fail(b);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  // The window slides: old successes fall out, a fifth failure makes 5 of 10.
  Fail(b);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, ConsecutiveFailuresOpenBeforeTheMinimumCalls) {
  SimulatedClock clock;
  auto o = Small();
  o.minimum_calls = 10;
  o.consecutive_failures = 3;
  CircuitBreaker b("dep", o, &clock);
  Fail(b);
  Fail(b);
  Succeed(b);  // resets the run
  Fail(b);
  Fail(b);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  Fail(b);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, OpenRejectsUntilTheOpenDurationThenLetsBoundedProbesThrough) {
  SimulatedClock clock;
  auto o = Small();
  o.consecutive_failures = 1;
  o.half_open_max_calls = 2;
  CircuitBreaker b("llm:openai", o, &clock);
  Fail(b);
  ASSERT_EQ(b.state(), BreakerState::kOpen);
  auto rejected = b.TryAcquire();
  ASSERT_FALSE(rejected.ok());
  EXPECT_TRUE(CircuitBreaker::IsRejection(rejected.status()));
  EXPECT_EQ(rejected.status().message(),
            "circuit breaker 'llm:openai' is open; call rejected without being made (next probe in "
            "30 s)");
  clock.Advance(seconds(29));
  EXPECT_FALSE(b.TryAcquire().ok());
  clock.Advance(seconds(1));
  // Half-open: two probes, the third call is rejected while they are out.
  auto p1 = b.TryAcquire();
  auto p2 = b.TryAcquire();
  ASSERT_TRUE(p1.ok() && p2.ok());
  EXPECT_TRUE(p1->probe);
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  auto p3 = b.TryAcquire();
  ASSERT_FALSE(p3.ok());
  EXPECT_NE(p3.status().message().find("half-open with all 2 probe call(s) in flight"),
            std::string::npos);
  b.OnSuccess(*p1);
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  b.OnSuccess(*p2);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.stats().rejected, 3u);
  EXPECT_EQ(b.stats().transitions, 3u);
}

TEST(CircuitBreakerTest, AFailedProbeReopens) {
  SimulatedClock clock;
  auto o = Small();
  o.consecutive_failures = 1;
  CircuitBreaker b("dep", o, &clock);
  Fail(b);
  clock.Advance(seconds(30));
  auto p = b.TryAcquire();
  ASSERT_TRUE(p.ok());
  b.OnFailure(*p);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  // And the open duration starts again.
  clock.Advance(seconds(29));
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  clock.Advance(seconds(1));
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
}

TEST(CircuitBreakerTest, HalfOpenDecidesOnTheProbesFailureRate) {
  SimulatedClock clock;
  auto o = Small();
  o.half_open_max_calls = 4;
  o.failure_rate_threshold = 0.5;
  CircuitBreaker b("dep", o, &clock);
  b.Force(BreakerState::kOpen);
  clock.Advance(seconds(30));
  Succeed(b);
  Fail(b);
  Succeed(b);
  Succeed(b);  // 1 of 4 failed: 25% < 50%
  EXPECT_EQ(b.state(), BreakerState::kClosed);
}

TEST(CircuitBreakerTest, SlowCallsCountAndCanOpenIt) {
  SimulatedClock clock;
  auto o = Small();
  o.slow_call_rate_threshold = 0.75;
  CircuitBreaker b("dep", o, &clock);
  for (int i = 0; i < 3; ++i) {
    auto p = b.TryAcquire();
    ASSERT_TRUE(p.ok());
    clock.Advance(milliseconds(1500));
    b.OnSuccess(*p);  // successful but slow
  }
  Succeed(b);  // 3 of 4 slow = 75%
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(b.stats().slow_calls, 3u);
}

TEST(CircuitBreakerTest, OutcomesFromAnEarlierStateAreIgnored) {
  SimulatedClock clock;
  auto o = Small();
  o.consecutive_failures = 1;
  CircuitBreaker b("dep", o, &clock);
  auto slow_call = b.TryAcquire();  // granted while closed
  ASSERT_TRUE(slow_call.ok());
  Fail(b);  // opens
  clock.Advance(seconds(30));
  auto probe = b.TryAcquire();
  ASSERT_TRUE(probe.ok());
  b.OnFailure(*slow_call);  // from the closed epoch: must not reopen the half-open breaker
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  b.OnSuccess(*probe);
}

TEST(CircuitBreakerTest, CallRecordsOutcomesAndSkipsTheCallWhenOpen) {
  SimulatedClock clock;
  auto o = Small();
  o.consecutive_failures = 2;
  CircuitBreaker b("dep", o, &clock);
  int calls = 0;
  auto failing = [&]() -> Result<int> {
    ++calls;
    return UnavailableError("down");
  };
  EXPECT_FALSE(b.Call(failing).ok());
  EXPECT_FALSE(b.Call(failing).ok());
  auto r = b.Call(failing);
  EXPECT_TRUE(CircuitBreaker::IsRejection(r.status()));
  EXPECT_EQ(calls, 2);
  // A failure the predicate does not count leaves the breaker alone.
  CircuitBreaker c("dep2", o, &clock);
  auto not_counted = [](const Status& s) { return s.code() != StatusCode::kInvalidArgument; };
  for (int i = 0; i < 5; ++i)
    (void)c.Call([] { return InvalidArgumentError("bad input"); }, not_counted);
  EXPECT_EQ(c.state(), BreakerState::kClosed);
}

TEST(CircuitBreakerTest, ValidateNamesTheBadField) {
  CircuitBreakerOptions o;
  o.minimum_calls = 50;
  o.window_size = 20;
  EXPECT_NE(o.Validate().message().find("minimum_calls"), std::string::npos);
  o = {};
  o.failure_rate_threshold = 1.5;
  EXPECT_NE(o.Validate().message().find("failure_rate_threshold"), std::string::npos);
  EXPECT_TRUE(CircuitBreakerOptions{}.Validate().ok());
}

}  // namespace
}  // namespace minion::resilience
