#include "minion/common/clock.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <string>

#if defined(__x86_64__)
#include <x86intrin.h>
#define MINION_HAVE_RDTSC 1
#endif

namespace minion {
namespace {

std::uint64_t RealtimeNs() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

#ifdef MINION_HAVE_RDTSC
// Span timestamps are read twice per span, and clock_gettime costs 20-70 ns on the virtual
// machines we measured (bench/trace_bench: it was the largest single cost of a span). With an
// invariant TSC we read the cycle counter (~8 ns) and extrapolate from a per-thread anchor taken
// with clock_gettime at most every ~100 ms, so NTP slews and steps are followed closely. Without
// an invariant TSC, or until the rate is calibrated (~20 ms after the first call), Now() is
// plain clock_gettime.
class TscClock {
 public:
  static TscClock& Get() {
    static TscClock* clock = new TscClock();
    return *clock;
  }

  bool usable() const noexcept { return usable_; }

  // The fast path: no call, no floating point, no callee-saved registers (the slow paths are
  // out of line). ns = anchor + ticks * mult / 2^32, the fixed-point form of ns-per-tick.
  UnixNanos Now() noexcept {
    const std::uint64_t mult = ns_per_tick_q32_.load(std::memory_order_relaxed);
    Anchor& a = anchor_;  // trivially constructible thread_local: no init guard on access
    const std::uint64_t dt = __rdtsc() - a.tsc;
    if (__builtin_expect(
            mult == 0 || a.tsc == 0 || dt > reanchor_ticks_.load(std::memory_order_relaxed), 0))
      return SlowNow();
    return a.ns + ((dt * mult) >> 32);
  }

 private:
  struct Anchor {
    std::uint64_t tsc;
    std::uint64_t ns;
  };
  static thread_local Anchor anchor_;

  TscClock() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    bool constant = false, nonstop = false;
    while (std::getline(cpuinfo, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      constant = line.find(" constant_tsc") != std::string::npos;
      nonstop = line.find(" nonstop_tsc") != std::string::npos;
      break;
    }
    usable_ = constant && nonstop;
  }

  // Reads the TSC and the wall clock as close together as possible (retrying when the thread
  // was interrupted between the two reads).
  static void ReadPair(std::uint64_t* tsc, std::uint64_t* ns) noexcept {
    std::uint64_t best_width = ~0ULL;
    for (int i = 0; i < 4; ++i) {
      const std::uint64_t t0 = __rdtsc();
      const std::uint64_t n = RealtimeNs();
      const std::uint64_t t1 = __rdtsc();
      if (t1 - t0 < best_width) {
        best_width = t1 - t0;
        *tsc = t0 + (t1 - t0) / 2;
        *ns = n;
      }
      if (best_width < 2000) break;
    }
  }

  UnixNanos Calibrate() noexcept {
    std::uint64_t tsc = 0, ns = 0;
    ReadPair(&tsc, &ns);
    std::uint64_t expected = 0;
    if (start_tsc_.compare_exchange_strong(expected, tsc)) {
      start_ns_.store(ns, std::memory_order_release);
      return ns;
    }
    const std::uint64_t start_ns = start_ns_.load(std::memory_order_acquire);
    if (start_ns == 0 || ns < start_ns + 20'000'000ULL || tsc <= expected)
      return ns;  // not yet 20 ms
    const double rate = static_cast<double>(ns - start_ns) / static_cast<double>(tsc - expected);
    // dt <= 100 ms of ticks, so dt * mult <= 1e8 ns * 2^32 < 2^59 whatever the TSC frequency.
    reanchor_ticks_.store(static_cast<std::uint64_t>(100'000'000.0 / rate),
                          std::memory_order_relaxed);
    ns_per_tick_q32_.store(
        std::max<std::uint64_t>(1, static_cast<std::uint64_t>(rate * 4294967296.0)),
        std::memory_order_relaxed);
    return ns;
  }

  __attribute__((noinline)) UnixNanos SlowNow() noexcept {
    if (ns_per_tick_q32_.load(std::memory_order_relaxed) == 0) return Calibrate();
    Anchor& a = anchor_;
    ReadPair(&a.tsc, &a.ns);
    return a.ns;
  }

  bool usable_ = false;
  std::atomic<std::uint64_t> start_tsc_{0};
  std::atomic<std::uint64_t> start_ns_{0};
  std::atomic<std::uint64_t> reanchor_ticks_{0};
  std::atomic<std::uint64_t> ns_per_tick_q32_{0};  // ns per tick * 2^32; 0 until calibrated
};

thread_local TscClock::Anchor TscClock::anchor_ = {0, 0};
#endif

class RealClock final : public Clock {
 public:
  UnixNanos Now() noexcept override {
#ifdef MINION_HAVE_RDTSC
    if (tsc_ != nullptr) return tsc_->Now();
#endif
    return RealtimeNs();
  }
  std::uint64_t MonotonicNanos() noexcept override {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
  }
  // CLOCK_MONOTONIC is steady_clock on Linux: wait for the deadline itself, not a duration.
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 std::uint64_t deadline) override {
    static_assert(std::chrono::steady_clock::is_steady);
    cv.wait_until(lock, std::chrono::steady_clock::time_point(
                            std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::nanoseconds(deadline))));
  }

 private:
#ifdef MINION_HAVE_RDTSC
  TscClock* const tsc_ = TscClock::Get().usable() ? &TscClock::Get() : nullptr;
#endif
};

}  // namespace

void Clock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                      std::uint64_t deadline) {
  const std::uint64_t now = MonotonicNanos();
  if (now >= deadline) return;
  cv.wait_for(lock, std::chrono::nanoseconds(deadline - now));
}

void SimulatedClock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                               std::uint64_t deadline) {
  if (MonotonicNanos() >= deadline) return;
  Waiter waiter{lock.mutex(), &cv};
  // Registered without the caller's mutex held (lock order above), then the time is checked
  // again under it: an Advance after registration must take that mutex to notify, so it cannot
  // slip between the check and the wait.
  lock.unlock();
  {
    std::lock_guard guard(waiters_mu_);
    waiters_.insert(&waiter);
  }
  lock.lock();
  if (MonotonicNanos() < deadline) cv.wait(lock);
  lock.unlock();
  {
    std::lock_guard guard(waiters_mu_);
    waiters_.erase(&waiter);
  }
  lock.lock();
}

void SimulatedClock::Advance(std::chrono::nanoseconds d) {
  now_.fetch_add(static_cast<UnixNanos>(d.count()));
  WakeWaiters();
}

void SimulatedClock::Set(UnixNanos t) {
  now_.store(t);
  WakeWaiters();
}

void SimulatedClock::WakeWaiters() {
  std::lock_guard guard(waiters_mu_);
  for (Waiter* w : waiters_) {
    std::lock_guard waiter_lock(*w->mu);
    w->cv->notify_all();
  }
}

Clock& SystemClock() {
  // Leaked on purpose: spans may end during static destruction.
  static Clock* clock = new RealClock();
  return *clock;
}

}  // namespace minion
