#pragma once
// Clocks are injected (LevelDB's Env, Abseil's Clock): production code asks a Clock for the
// time, tests pass a SimulatedClock that moves only when told.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>

namespace minion {

// Nanoseconds since the Unix epoch; the unit OTLP uses on the wire.
using UnixNanos = std::uint64_t;

// Thread-safe: implementations must allow concurrent calls.
class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, used for span timestamps.
  virtual UnixNanos Now() noexcept = 0;
  // Monotonic time in nanoseconds from an arbitrary origin, used for durations and timeouts.
  virtual std::uint64_t MonotonicNanos() noexcept = 0;

  // Blocks on `cv` (`lock` holds its mutex on entry and on return) until it is notified or
  // MonotonicNanos() reaches `deadline`. Like condition_variable::wait_until it may return
  // early, so callers loop on their own condition. Timeouts and backoff waits go through here
  // so that a simulated clock can end them. The default waits for the remaining time in real
  // time.
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         std::uint64_t deadline);
};

// The process-wide real clock. Never destroyed, so it is safe to use from static destructors.
Clock& SystemClock();

// A clock for tests: both readings start at `start` and advance only through Advance/Set,
// which also wake every WaitUntil in progress so it can see the new time. WaitUntil never
// ends by itself. Do not call Advance/Set while holding a mutex some thread waits with.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(UnixNanos start = 1'700'000'000'000'000'000ULL) : now_(start) {}
  UnixNanos Now() noexcept override { return now_.load(std::memory_order_relaxed); }
  std::uint64_t MonotonicNanos() noexcept override { return now_.load(std::memory_order_relaxed); }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 std::uint64_t deadline) override;
  void Advance(std::chrono::nanoseconds d);
  void Set(UnixNanos t);

 private:
  struct Waiter {
    std::mutex* mu;
    std::condition_variable* cv;
  };
  void WakeWaiters();

  std::atomic<UnixNanos> now_;
  // Lock order: waiters_mu_, then a waiter's mutex (WakeWaiters). A waiter never holds its own
  // mutex while taking waiters_mu_.
  std::mutex waiters_mu_;
  std::set<Waiter*> waiters_;  // guarded by waiters_mu_
};

}  // namespace minion
