// FailureLog: the rate limit every exporter puts on its per-batch failure lines.
#include "exporters/common/failure_log.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "minion/common/clock.h"

namespace minion::exporters::internal {
namespace {

using std::chrono::seconds;

struct Captured {
  std::vector<std::string> lines;
  FailureLog::Sink sink() {
    return [this](std::string_view line) { lines.emplace_back(line); };
  }
};

TEST(FailureLog, WritesTheFirstFailureAndOnlyCountsTheRestWithinTheInterval) {
  SimulatedClock clock;
  Captured out;
  FailureLog log("otlp-test", clock, seconds(10), out.sink());
  int built = 0;
  for (int i = 0; i < 5; ++i) {
    log.Report([&] {
      ++built;
      return "otlp-test: failed batch " + std::to_string(i);
    });
  }
  ASSERT_EQ(out.lines.size(), 1u);
  EXPECT_EQ(out.lines[0], "otlp-test: failed batch 0");
  EXPECT_EQ(built, 1) << "a suppressed line must not even be formatted";
  EXPECT_EQ(log.suppressed(), 4u);

  clock.Advance(seconds(9));
  log.Report([] { return std::string("otlp-test: still inside the interval"); });
  EXPECT_EQ(out.lines.size(), 1u);
  EXPECT_EQ(log.suppressed(), 5u);
}

TEST(FailureLog, NextLineAfterTheIntervalSaysHowManyWereSuppressed) {
  SimulatedClock clock;
  Captured out;
  FailureLog log("otlp-test", clock, seconds(10), out.sink());
  for (int i = 0; i < 4; ++i) log.Report([] { return std::string("otlp-test: down"); });
  clock.Advance(seconds(10));
  log.Report([] { return std::string("otlp-test: down again"); });
  ASSERT_EQ(out.lines.size(), 2u);
  EXPECT_EQ(out.lines[1],
            "otlp-test: down again (3 more failures suppressed since the previous message)");
  EXPECT_EQ(log.suppressed(), 0u);

  // The interval restarts at each written line, and a single suppression is singular.
  clock.Advance(seconds(5));
  log.Report([] { return std::string("x"); });
  clock.Advance(seconds(5));
  log.Report([] { return std::string("otlp-test: third"); });
  ASSERT_EQ(out.lines.size(), 3u);
  EXPECT_EQ(out.lines[2],
            "otlp-test: third (1 more failure suppressed since the previous message)");
}

TEST(FailureLog, FlushWritesThePendingCountOnceAndNothingWhenThereIsNone) {
  SimulatedClock clock;
  Captured out;
  FailureLog log("jaeger exporter", clock, seconds(10), out.sink());
  log.Flush();
  EXPECT_TRUE(out.lines.empty());
  for (int i = 0; i < 3; ++i) log.Report([] { return std::string("jaeger exporter: dropped"); });
  log.Flush();
  ASSERT_EQ(out.lines.size(), 2u);
  EXPECT_EQ(out.lines[1], "jaeger exporter: 2 more failures suppressed since the previous message");
  log.Flush();
  EXPECT_EQ(out.lines.size(), 2u);
}

TEST(FailureLog, ZeroIntervalWritesEveryFailure) {
  SimulatedClock clock;
  Captured out;
  FailureLog log("otlp-test", clock, seconds(0), out.sink());
  for (int i = 0; i < 3; ++i) log.Report([] { return std::string("line"); });
  EXPECT_EQ(out.lines.size(), 3u);
  EXPECT_EQ(out.lines[2], "line");
}

TEST(FailureLog, ConcurrentReportsWriteOneLineAndCountEveryOtherFailure) {
  SimulatedClock clock;
  std::mutex mu;
  std::vector<std::string> lines;
  FailureLog log("otlp-test", clock, seconds(10), [&](std::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.emplace_back(line);
  });
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i)
        log.Report([] { return std::string("otlp-test: failed"); });
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(lines.size(), 1u);
  EXPECT_EQ(log.suppressed(), static_cast<std::uint64_t>(kThreads * kPerThread - 1));
}

}  // namespace
}  // namespace minion::exporters::internal
