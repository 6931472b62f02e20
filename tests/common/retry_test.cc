#include "minion/common/retry.h"

#include <gtest/gtest.h>

namespace minion::retry {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr UnixNanos kSecond = 1'000'000'000ULL;

TEST(BackoffTest, RetryOneWaitsInitialAndEachRetryMultipliesUpToMax) {
  Backoff b;
  b.initial = milliseconds(100);
  b.max = milliseconds(350);
  b.multiplier = 2.0;
  EXPECT_EQ(b.Ceiling(1), milliseconds(100));  // before attempt 2
  EXPECT_EQ(b.Ceiling(2), milliseconds(200));
  EXPECT_EQ(b.Ceiling(3), milliseconds(350));  // capped
  EXPECT_EQ(b.Ceiling(0), milliseconds(100));  // below 1 counts as 1
  EXPECT_EQ(b.Ceiling(1000), milliseconds(350));
}

TEST(BackoffTest, FullJitterIsUniformBetweenZeroAndTheCeiling) {
  Backoff b;
  b.initial = milliseconds(100);
  b.max = seconds(10);
  EXPECT_EQ(b.Delay(2, 0.0), nanoseconds(0));
  EXPECT_EQ(b.Delay(2, 0.5), milliseconds(100));
  EXPECT_EQ(b.Delay(2, 1.0), milliseconds(200));
  EXPECT_EQ(b.Delay(2, 7.0), milliseconds(200));  // clamped to [0, 1]
  double drawn = 0.25;
  EXPECT_EQ(b.Delay(3, [&] { return drawn; }), milliseconds(100));
  for (int i = 0; i < 1000; ++i) {
    const auto d = b.Delay(3, UniformRandom());  // the default source
    EXPECT_GE(d, nanoseconds(0));
    EXPECT_LE(d, milliseconds(400));
  }
}

TEST(BackoffTest, JitterRangeAroundTheCeilingAndNoJitter) {
  Backoff b;
  b.initial = milliseconds(100);
  b.jitter_low = 0.5;
  b.jitter_high = 1.5;
  EXPECT_EQ(b.Delay(1, 0.0), milliseconds(50));
  EXPECT_EQ(b.Delay(1, 0.5), milliseconds(100));
  EXPECT_EQ(b.Delay(1, 1.0), milliseconds(150));
  b.jitter_low = b.jitter_high = 1.0;
  EXPECT_EQ(b.Delay(4, 0.123), milliseconds(800));
}

TEST(RetryAfterTest, SecondsAndHttpDate) {
  EXPECT_EQ(ParseRetryAfter("7", 0), seconds(7));
  EXPECT_EQ(ParseRetryAfter(" 0 ", 0), seconds(0));
  // 1445412480 is Wed, 21 Oct 2015 07:28:00 GMT.
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", (1445412480 - 30) * kSecond),
            seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", (1445412480 + 30) * kSecond),
            seconds(0));  // in the past: retry now
  EXPECT_FALSE(ParseRetryAfter("soon", 0).has_value());
  EXPECT_FALSE(ParseRetryAfter("", 0).has_value());
  EXPECT_FALSE(ParseRetryAfter("-5", 0).has_value());
  EXPECT_EQ(ParseRetryAfter("99999999999", 0), seconds(365LL * 86400));  // clamped, no overflow
  // Found by fuzz_chat_completions: a date in year 4030 overflowed the nanosecond conversion.
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 4030 07:28:00 GMT", 0), seconds(365LL * 86400));
}

}  // namespace
}  // namespace minion::retry
