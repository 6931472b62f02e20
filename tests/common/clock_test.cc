#include "minion/common/clock.h"

#include <gtest/gtest.h>
#include <time.h>

#include <thread>
#include <vector>

namespace minion {
namespace {

std::uint64_t Realtime() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// The system clock may extrapolate from the CPU's cycle counter; it must still agree with
// CLOCK_REALTIME closely, before and after its calibration, on every thread.
TEST(SystemClockTest, AgreesWithRealtimeOnEveryThread) {
  auto check = [] {
    const std::uint64_t deadline = SystemClock().MonotonicNanos() + 60'000'000;  // past calibration
    std::uint64_t max_error = 0;
    std::uint64_t previous = 0;
    int backwards = 0;
    while (SystemClock().MonotonicNanos() < deadline) {
      const std::uint64_t before = Realtime();
      const std::uint64_t now = SystemClock().Now();
      const std::uint64_t after = Realtime();
      const std::uint64_t error = now < before ? before - now : (now > after ? now - after : 0);
      max_error = std::max(max_error, error);
      if (now + 100'000 < previous) ++backwards;  // > 100 µs backwards
      previous = now;
    }
    EXPECT_LT(max_error, 5'000'000u)
        << "system clock differs from CLOCK_REALTIME by " << max_error << " ns";
    EXPECT_EQ(backwards, 0);
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back(check);
  for (auto& t : threads) t.join();
}

TEST(SimulatedClockTest, MovesOnlyWhenTold) {
  SimulatedClock clock(100);
  EXPECT_EQ(clock.Now(), 100u);
  clock.Advance(std::chrono::nanoseconds(50));
  EXPECT_EQ(clock.Now(), 150u);
  clock.Set(7);
  EXPECT_EQ(clock.MonotonicNanos(), 7u);
}

}  // namespace
}  // namespace minion
