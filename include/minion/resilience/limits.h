#pragma once
// Admission limits: a token-bucket rate limiter, a bulkhead (at most N calls at once) and
// deadlines that travel with a call. None of them waits: a call over a limit is refused at
// once with ResourceExhausted, and the caller decides (fail, route elsewhere, retry later).
// Time comes from an injected Clock. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "minion/common/clock.h"
#include "minion/common/status.h"

namespace minion::resilience {

struct RateLimiterOptions {
  double rate_per_second = 10;  // tokens added per second (> 0)
  double burst = 10;            // bucket capacity (>= 1); the bucket starts full
};

// Token bucket: each call takes one token; tokens refill continuously at `rate_per_second`
// up to `burst`.
class RateLimiter {
 public:
  RateLimiter(std::string name, RateLimiterOptions options = {}, Clock* clock = nullptr);
  // OK and a token taken, or ResourceExhausted naming the limiter and when a token is due.
  Status TryAcquire(double tokens = 1);
  std::uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }
  const std::string& name() const { return name_; }

 private:
  const std::string name_;
  const RateLimiterOptions options_;
  Clock& clock_;
  std::mutex mu_;
  double tokens_;           // guarded by mu_
  std::uint64_t last_ = 0;  // guarded by mu_; MonotonicNanos of the last refill
  std::atomic<std::uint64_t> rejected_{0};
};

// At most `max_concurrent` calls at once. Acquire returns a guard that frees the slot.
class Bulkhead {
 public:
  class Slot {
   public:
    Slot() = default;
    explicit Slot(Bulkhead* owner) : owner_(owner) {}
    Slot(Slot&& o) noexcept : owner_(o.owner_) { o.owner_ = nullptr; }
    Slot& operator=(Slot&& o) noexcept {
      if (this != &o) {
        Reset();
        owner_ = o.owner_;
        o.owner_ = nullptr;
      }
      return *this;
    }
    ~Slot() { Reset(); }
    void Reset() {
      if (owner_ != nullptr) owner_->in_use_.fetch_sub(1, std::memory_order_acq_rel);
      owner_ = nullptr;
    }

   private:
    Bulkhead* owner_ = nullptr;
  };

  Bulkhead(std::string name, std::size_t max_concurrent);
  // A slot, or ResourceExhausted when `max_concurrent` calls are already running.
  Result<Slot> TryAcquire();
  std::size_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
  std::uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }
  const std::string& name() const { return name_; }

 private:
  const std::string name_;
  const std::size_t max_;
  std::atomic<std::size_t> in_use_{0};
  std::atomic<std::uint64_t> rejected_{0};
};

// A point in Clock::MonotonicNanos() time by which a call must finish; passed down so each
// layer uses what is left rather than its own full timeout. A value type.
class Deadline {
 public:
  static Deadline Never() { return Deadline(); }
  static Deadline After(Clock& clock, std::chrono::nanoseconds d);
  static Deadline At(std::uint64_t monotonic_nanos) {
    Deadline x;
    x.at_ = monotonic_nanos;
    return x;
  }
  bool is_never() const { return !at_.has_value(); }
  // Time left (zero when passed); `cap` when there is no deadline.
  std::chrono::nanoseconds Remaining(Clock& clock,
                                     std::chrono::nanoseconds cap = std::chrono::hours(24)) const;
  bool Expired(Clock& clock) const { return at_ && clock.MonotonicNanos() >= *at_; }
  // The earlier of the two.
  Deadline Min(const Deadline& other) const;
  // DeadlineExceeded naming `what` when expired, else OK.
  Status Check(Clock& clock, std::string_view what) const;
  std::optional<std::uint64_t> at() const { return at_; }

 private:
  std::optional<std::uint64_t> at_;
};

}  // namespace minion::resilience
