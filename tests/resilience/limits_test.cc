#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "minion/resilience/limits.h"

namespace minion::resilience {
namespace {

TEST(RateLimiterTest, BurstThenRefillAtTheRate) {
  SimulatedClock clock;
  RateLimiter limiter("tool:http_get", {.rate_per_second = 2, .burst = 3}, &clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.TryAcquire().ok());
  Status s = limiter.TryAcquire();
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("rate limiter 'tool:http_get'"), std::string::npos);
  EXPECT_NE(s.message().find("next token in 0.5 s"), std::string::npos) << s.message();
  clock.Advance(std::chrono::milliseconds(500));
  EXPECT_TRUE(limiter.TryAcquire().ok());
  EXPECT_FALSE(limiter.TryAcquire().ok());
  clock.Advance(std::chrono::seconds(100));  // refills only up to the burst
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.TryAcquire().ok());
  EXPECT_FALSE(limiter.TryAcquire().ok());
  EXPECT_EQ(limiter.rejected(), 3u);
}

TEST(BulkheadTest, AtMostNConcurrentCallsAndSlotsFreeOnDestruction) {
  Bulkhead bulkhead("worker:coder-1", 2);
  auto a = bulkhead.TryAcquire();
  auto b = bulkhead.TryAcquire();
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = bulkhead.TryAcquire();
  EXPECT_EQ(c.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(c.status().message().find("bulkhead 'worker:coder-1' is full (2 concurrent calls)"),
            std::string::npos);
  a->Reset();
  EXPECT_TRUE(bulkhead.TryAcquire().ok());  // the temporary's slot is released at once
  EXPECT_EQ(bulkhead.in_use(), 1u);
  EXPECT_EQ(bulkhead.rejected(), 1u);
}

TEST(BulkheadTest, NeverExceedsTheLimitUnderContention) {
  Bulkhead bulkhead("b", 3);
  std::atomic<int> admitted{0}, max_seen{0}, current{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto slot = bulkhead.TryAcquire();
        if (!slot.ok()) continue;
        admitted.fetch_add(1);
        const int now = current.fetch_add(1) + 1;
        int prev = max_seen.load();
        while (now > prev && !max_seen.compare_exchange_weak(prev, now)) {
        }
        current.fetch_sub(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(max_seen.load(), 3);
  EXPECT_GT(admitted.load(), 0);
  EXPECT_EQ(bulkhead.in_use(), 0u);
}

TEST(DeadlineTest, RemainingMinAndCheck) {
  SimulatedClock clock;
  auto d = Deadline::After(clock, std::chrono::seconds(2));
  EXPECT_EQ(d.Remaining(clock), std::chrono::seconds(2));
  EXPECT_EQ(d.Min(Deadline::After(clock, std::chrono::seconds(1))).Remaining(clock),
            std::chrono::seconds(1));
  EXPECT_EQ(Deadline::Never().Min(d).Remaining(clock), std::chrono::seconds(2));
  EXPECT_EQ(Deadline::Never().Remaining(clock, std::chrono::seconds(7)), std::chrono::seconds(7));
  clock.Advance(std::chrono::seconds(3));
  EXPECT_EQ(d.Remaining(clock), std::chrono::nanoseconds(0));
  Status s = d.Check(clock, "calling the model");
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(s.message(), "deadline passed before calling the model");
}

}  // namespace
}  // namespace minion::resilience
