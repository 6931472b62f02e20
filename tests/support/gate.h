#pragma once
// Latch and Gate for tests: every wait has a timeout, and a wait that times out fails the test
// (naming where it was called from) and returns false instead of hanging until ctest kills the
// whole program. Thread-safe; failures recorded from another thread are reported by GoogleTest.
//
//   testing::Latch handled(3);
//   handler = [&](...) { ...; handled.CountDown(); };
//   ASSERT_TRUE(handled.Wait());
//
//   testing::Gate release;        // a latch of one: Open() releases every waiter
//   handler = [&](...) { ASSERT_TRUE(release.Wait()); };
//   release.Open();

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace minion::testing {

// Where a wait was called from comes from __builtin_FILE()/__builtin_LINE() as default arguments
// (the caller's position in gcc and clang alike): std::source_location would do the same, but
// clang 14, which builds the sanitizer and fuzz targets, cannot compile it with libstdc++ 12.

// Long enough for a loaded 2-core CI machine under TSan; short enough that a hang is reported
// well inside ctest's per-program timeout.
inline constexpr std::chrono::milliseconds kWaitTimeout{30000};

class Latch {
 public:
  explicit Latch(std::ptrdiff_t count) : count_(count) {}
  Latch(const Latch&) = delete;
  Latch& operator=(const Latch&) = delete;

  void CountDown(std::ptrdiff_t n = 1) {
    // Notified under the lock: a waiter may destroy the latch as soon as Wait returns (a latch
    // on a test's stack), so the notification must be over before the waiter can get the mutex.
    std::lock_guard<std::mutex> lock(mu_);
    count_ -= n;
    if (count_ <= 0) cv_.notify_all();
  }
  bool Released() const {
    std::lock_guard<std::mutex> lock(mu_);
    return count_ <= 0;
  }
  // True once the count reaches zero; after `timeout` records a test failure naming the caller
  // and returns false.
  [[nodiscard]] bool Wait(std::chrono::milliseconds timeout = kWaitTimeout,
                          const char* file = __builtin_FILE(), int line = __builtin_LINE()) const {
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, timeout, [this] { return count_ <= 0; })) return true;
    ADD_FAILURE_AT(file, line) << "latch still at " << count_ << " after " << timeout.count()
                               << " ms";
    return false;
  }
  // CountDown() then Wait().
  bool ArriveAndWait(std::chrono::milliseconds timeout = kWaitTimeout,
                     const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    CountDown();
    return Wait(timeout, file, line);
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::ptrdiff_t count_;  // guarded by mu_
};

// A one-shot gate: a Latch of one whose CountDown is called Open.
class Gate : public Latch {
 public:
  Gate() : Latch(1) {}
  void Open() { CountDown(); }
  bool IsOpen() const { return Released(); }
};

}  // namespace minion::testing
