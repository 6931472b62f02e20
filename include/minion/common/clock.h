#pragma once
// Clocks are injected (LevelDB's Env, Abseil's Clock): production code asks a Clock for the
// time, tests pass a SimulatedClock that moves only when told.

#include <atomic>
#include <chrono>
#include <cstdint>

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
};

// The process-wide real clock. Never destroyed, so it is safe to use from static destructors.
Clock& SystemClock();

// A clock for tests: both readings start at `start` and advance only through Advance/Set.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(UnixNanos start = 1'700'000'000'000'000'000ULL) : now_(start) {}
  UnixNanos Now() noexcept override { return now_.load(std::memory_order_relaxed); }
  std::uint64_t MonotonicNanos() noexcept override { return now_.load(std::memory_order_relaxed); }
  void Advance(std::chrono::nanoseconds d) { now_.fetch_add(static_cast<UnixNanos>(d.count())); }
  void Set(UnixNanos t) { now_.store(t); }

 private:
  std::atomic<UnixNanos> now_;
};

}  // namespace minion
