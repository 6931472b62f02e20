// Retry on the shared backoff toolkit: full-jitter delays, attempts bounded, the deadline
// respected, the budget stopping a retry storm, non-retryable failures returned at once. Waits
// are injected and recorded, never slept.
#include <gtest/gtest.h>

#include <vector>

#include "minion/resilience/retry.h"

namespace minion::resilience {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

struct Recorder {
  std::vector<nanoseconds> waits;
  RetryOptions Options(SimulatedClock& clock) {
    RetryOptions o;
    o.max_attempts = 4;
    o.backoff.initial = milliseconds(100);
    o.backoff.max = milliseconds(1000);
    o.backoff.multiplier = 2;
    o.random = [] { return 0.5; };  // half the ceiling (full jitter: uniform in [0, ceiling])
    o.sleep = [this, &clock](nanoseconds d) {
      waits.push_back(d);
      clock.Advance(d);
      return true;
    };
    return o;
  }
};

TEST(RetryTest, RetriesTransientFailuresWithJitteredExponentialBackoff) {
  SimulatedClock clock;
  Recorder rec;
  Retrier retrier("llm:openai", rec.Options(clock), &clock);
  std::vector<std::string> outcomes;
  auto r = retrier.Run<int>(
      [](int n) -> Result<int> {
        if (n < 3) return UnavailableError("503");
        return n;
      },
      Deadline::Never(), [&](const RetryEvent& e) { outcomes.emplace_back(e.outcome); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 3);
  ASSERT_EQ(rec.waits.size(), 2u);
  EXPECT_EQ(rec.waits[0], milliseconds(50));   // 0.5 * 100 ms
  EXPECT_EQ(rec.waits[1], milliseconds(100));  // 0.5 * 200 ms
  EXPECT_EQ(outcomes, (std::vector<std::string>{"retried", "retried"}));
}

TEST(RetryTest, StopsAtMaxAttemptsAndOnNonRetryableFailures) {
  SimulatedClock clock;
  Recorder rec;
  Retrier retrier("x", rec.Options(clock), &clock);
  int calls = 0;
  auto r = retrier.Run<int>([&](int) -> Result<int> {
    ++calls;
    return UnavailableError("down");
  });
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  calls = 0;
  r = retrier.Run<int>([&](int) -> Result<int> {
    ++calls;
    return InvalidArgumentError("bad request");
  });
  EXPECT_EQ(calls, 1);
}

TEST(RetryTest, NeverWaitsPastTheDeadline) {
  SimulatedClock clock;
  Recorder rec;
  Retrier retrier("x", rec.Options(clock), &clock);
  std::string last;
  int calls = 0;
  auto r = retrier.Run<int>(
      [&](int) -> Result<int> {
        ++calls;
        return UnavailableError("down");
      },
      Deadline::After(clock, milliseconds(120)),
      [&](const RetryEvent& e) { last = std::string(e.outcome); });
  // Waits of 50 ms then 100 ms: the second would end past 120 ms.
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(last, "deadline");
}

TEST(RetryTest, TheBudgetLimitsRetriesToAFractionOfTraffic) {
  SimulatedClock clock;
  Recorder rec;
  auto o = rec.Options(clock);
  o.max_attempts = 2;
  o.budget_ratio = 0.1;
  o.budget_max_tokens = 2;
  Retrier retrier("x", o, &clock);
  int calls = 0, budget_refusals = 0;
  for (int i = 0; i < 20; ++i) {
    (void)retrier.Run<int>(
        [&](int) -> Result<int> {
          ++calls;
          return UnavailableError("down");
        },
        Deadline::Never(),
        [&](const RetryEvent& e) { budget_refusals += e.outcome == "budget_exhausted"; });
  }
  // 20 first attempts; the bucket starts with 2 tokens and earns 0.1 per call: 2 + 20*0.1 = 4
  // retries at most, not 20.
  EXPECT_LE(calls, 24);
  EXPECT_GE(calls, 22);
  EXPECT_GE(budget_refusals, 16);
}

TEST(RetryTest, CancelEndsTheDefaultWait) {
  RetryOptions o;
  o.max_attempts = 5;
  o.backoff.initial = std::chrono::hours(1);
  o.backoff.max = std::chrono::hours(1);
  o.random = [] { return 1.0; };
  Retrier retrier("x", o);
  retrier.Cancel();  // before the wait: it must return at once rather than wait an hour
  int calls = 0;
  auto r = retrier.Run<int>([&](int) -> Result<int> {
    ++calls;
    return UnavailableError("down");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace minion::resilience
