#include <gtest/gtest.h>

#include <vector>

#include "minion/exporters/retry.h"

namespace minion::exporters {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(RetryPolicyTest, DefaultsMatchTheBrief) {
  RetryPolicy p;
  EXPECT_EQ(p.max_attempts, 5);
  EXPECT_EQ(p.initial_backoff, milliseconds(1000));
  EXPECT_EQ(p.max_backoff, milliseconds(5000));
  EXPECT_DOUBLE_EQ(p.backoff_multiplier, 1.5);
}

TEST(RetryPolicyTest, FullJitterScalesTheExponentialCap) {
  RetryPolicy p;
  p.random = [] { return 0.5; };
  EXPECT_EQ(p.BackoffFor(1), milliseconds(500));    // 0.5 * 1s
  EXPECT_EQ(p.BackoffFor(2), milliseconds(750));    // 0.5 * 1.5s
  EXPECT_EQ(p.BackoffFor(3), milliseconds(1125));   // 0.5 * 2.25s
  EXPECT_EQ(p.BackoffFor(10), milliseconds(2500));  // capped at 5s
  p.random = [] { return 0.0; };
  EXPECT_EQ(p.BackoffFor(3), nanoseconds(0));
  p.random = [] { return 0.999999; };
  EXPECT_LE(p.BackoffFor(20), milliseconds(5000));
}

TEST(RetryClassificationTest, OnlyTransientHttpStatusesRetry) {
  for (int s : {429, 502, 503, 504}) EXPECT_TRUE(IsRetryableHttpStatus(s)) << s;
  for (int s : {200, 400, 401, 403, 404, 413, 500, 501})
    EXPECT_FALSE(IsRetryableHttpStatus(s)) << s;
}

TEST(RetryAfterTest, ParsesSecondsAndHttpDates) {
  const UnixNanos now = 1'445'412'480ULL * 1'000'000'000ULL;  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(ParseRetryAfter("120", now), seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 3 ", now), seconds(3));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now), seconds(30));
  EXPECT_EQ(ParseRetryAfter("Sat, 01 Jan 2000 00:00:00 GMT", now), seconds(0));  // past
  EXPECT_EQ(ParseRetryAfter("Thu, 29 Feb 2024 12:00:00 GMT", 1'709'208'000ULL * 1'000'000'000ULL),
            seconds(0));
  EXPECT_EQ(ParseRetryAfter("Thu, 29 Feb 2024 12:00:01 GMT", 1'709'208'000ULL * 1'000'000'000ULL),
            seconds(1));
  EXPECT_FALSE(ParseRetryAfter("", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("-1", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("soon", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("Wed, 21 Foo 2015 07:28:30 GMT", now).has_value());
}

// A clock that moves only when the injected sleep runs: the retry loop's whole timeline is
// simulated, so these tests never wait.
struct Harness {
  SimulatedClock clock{1'000'000'000};
  RetryPolicy policy;
  std::vector<nanoseconds> sleeps;
  Harness() {
    policy.random = [] { return 1.0 - 1e-9; };  // the cap, for predictable numbers
    policy.sleep = [this](nanoseconds d) {
      sleeps.push_back(d);
      clock.Advance(d);
      return true;
    };
  }
  std::uint64_t Deadline(milliseconds d) { return clock.MonotonicNanos() + nanoseconds(d).count(); }
};

TEST(RunWithRetryTest, SucceedsAfterTransientFailures) {
  Harness h;
  int calls = 0;
  auto out = RunWithRetry(h.policy, h.clock, h.Deadline(milliseconds(30000)), [&](nanoseconds) {
    ++calls;
    AttemptResult r;
    if (calls < 3) {
      r.outcome = AttemptOutcome::kRetryable;
      r.status = UnavailableError("503");
    }
    return r;
  });
  EXPECT_TRUE(out.status.ok());
  EXPECT_EQ(out.attempts, 3);
  ASSERT_EQ(h.sleeps.size(), 2u);
  EXPECT_NEAR(std::chrono::duration<double>(h.sleeps[0]).count(), 1.0, 1e-6);
  EXPECT_NEAR(std::chrono::duration<double>(h.sleeps[1]).count(), 1.5, 1e-6);
}

TEST(RunWithRetryTest, PermanentFailureIsNotRetried) {
  Harness h;
  auto out = RunWithRetry(h.policy, h.clock, h.Deadline(milliseconds(30000)), [&](nanoseconds) {
    return AttemptResult{AttemptOutcome::kPermanent, InvalidArgumentError("400"), std::nullopt};
  });
  EXPECT_EQ(out.attempts, 1);
  EXPECT_EQ(out.status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(h.sleeps.empty());
}

TEST(RunWithRetryTest, StopsAfterMaxAttempts) {
  Harness h;
  auto out = RunWithRetry(h.policy, h.clock, h.Deadline(milliseconds(60000)), [&](nanoseconds) {
    return AttemptResult{AttemptOutcome::kRetryable, UnavailableError("down"), std::nullopt};
  });
  EXPECT_EQ(out.attempts, 5);
  EXPECT_EQ(h.sleeps.size(), 4u);
  EXPECT_EQ(out.status.code(), StatusCode::kUnavailable);
}

TEST(RunWithRetryTest, RetryAfterReplacesBackoff) {
  Harness h;
  int calls = 0;
  auto out = RunWithRetry(h.policy, h.clock, h.Deadline(milliseconds(30000)), [&](nanoseconds) {
    if (++calls == 1) {
      return AttemptResult{AttemptOutcome::kRetryable, UnavailableError("429"), seconds(7)};
    }
    return AttemptResult{};
  });
  EXPECT_TRUE(out.status.ok());
  ASSERT_EQ(h.sleeps.size(), 1u);
  EXPECT_EQ(h.sleeps[0], seconds(7));
}

TEST(RunWithRetryTest, NeverWaitsPastTheDeadline) {
  Harness h;
  std::vector<nanoseconds> budgets;
  auto out = RunWithRetry(h.policy, h.clock, h.Deadline(milliseconds(2000)), [&](nanoseconds left) {
    budgets.push_back(left);
    return AttemptResult{AttemptOutcome::kRetryable, UnavailableError("down"), std::nullopt};
  });
  // 1st attempt at t=0 (2s left), wait 1s, 2nd attempt (1s left); the next wait (1.5s) would
  // pass the deadline, so it gives up without sleeping.
  EXPECT_EQ(out.attempts, 2);
  EXPECT_EQ(out.status.code(), StatusCode::kDeadlineExceeded);
  ASSERT_EQ(budgets.size(), 2u);
  EXPECT_EQ(budgets[0], milliseconds(2000));
  EXPECT_NEAR(std::chrono::duration<double>(budgets[1]).count(), 1.0, 1e-6);
  EXPECT_NE(out.status.message().find("down"), std::string::npos);
}

TEST(RunWithRetryTest, RetryAfterBeyondDeadlineFailsAtOnce) {
  Harness h;
  auto out = RunWithRetry(h.policy, h.clock, h.Deadline(milliseconds(5000)), [&](nanoseconds) {
    return AttemptResult{AttemptOutcome::kRetryable, UnavailableError("503"), seconds(60)};
  });
  EXPECT_EQ(out.attempts, 1);
  EXPECT_TRUE(h.sleeps.empty());
  EXPECT_EQ(out.status.code(), StatusCode::kDeadlineExceeded);
}

TEST(RunWithRetryTest, InterruptedWaitStops) {
  Harness h;
  h.policy.sleep = [](nanoseconds) { return false; };
  auto out = RunWithRetry(h.policy, h.clock, h.Deadline(milliseconds(30000)), [&](nanoseconds) {
    return AttemptResult{AttemptOutcome::kRetryable, UnavailableError("503"), std::nullopt};
  });
  EXPECT_EQ(out.attempts, 1);
  EXPECT_EQ(out.status.code(), StatusCode::kCancelled);
}

TEST(RunWithRetryTest, PassedDeadlineMakesNoAttempt) {
  Harness h;
  int calls = 0;
  auto out = RunWithRetry(h.policy, h.clock, h.clock.MonotonicNanos(), [&](nanoseconds) {
    ++calls;
    return AttemptResult{};
  });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(out.status.code(), StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace minion::exporters
