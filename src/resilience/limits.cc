#include "minion/resilience/limits.h"

#include <algorithm>
#include <cstdio>

namespace minion::resilience {

RateLimiter::RateLimiter(std::string name, RateLimiterOptions options, Clock* clock)
    : name_(std::move(name)),
      options_{options.rate_per_second > 0 ? options.rate_per_second : 10,
               std::max(1.0, options.burst)},
      clock_(clock != nullptr ? *clock : SystemClock()),
      tokens_(options_.burst),
      last_(clock_.MonotonicNanos()) {}

Status RateLimiter::TryAcquire(double tokens) {
  const std::uint64_t now = clock_.MonotonicNanos();
  std::lock_guard<std::mutex> lock(mu_);
  if (now > last_) {
    tokens_ = std::min(options_.burst,
                       tokens_ + static_cast<double>(now - last_) / 1e9 * options_.rate_per_second);
    last_ = now;
  }
  if (tokens_ >= tokens) {
    tokens_ -= tokens;
    return Status::Ok();
  }
  rejected_.fetch_add(1, std::memory_order_relaxed);
  char wait[32];
  std::snprintf(wait, sizeof(wait), "%.3g", (tokens - tokens_) / options_.rate_per_second);
  return ResourceExhaustedError("rate limiter '" + name_ + "' allows " +
                                std::to_string(options_.rate_per_second) + " calls/s (burst " +
                                std::to_string(static_cast<int>(options_.burst)) +
                                "); call rejected, next token in " + wait + " s");
}

Bulkhead::Bulkhead(std::string name, std::size_t max_concurrent)
    : name_(std::move(name)), max_(std::max<std::size_t>(1, max_concurrent)) {}

Result<Bulkhead::Slot> Bulkhead::TryAcquire() {
  std::size_t current = in_use_.load(std::memory_order_relaxed);
  do {
    if (current >= max_) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return ResourceExhaustedError("bulkhead '" + name_ + "' is full (" + std::to_string(max_) +
                                    " concurrent calls); call rejected");
    }
  } while (!in_use_.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel));
  return Slot(this);
}

Deadline Deadline::After(Clock& clock, std::chrono::nanoseconds d) {
  return At(clock.MonotonicNanos() +
            static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count())));
}

std::chrono::nanoseconds Deadline::Remaining(Clock& clock, std::chrono::nanoseconds cap) const {
  if (!at_) return cap;
  const std::uint64_t now = clock.MonotonicNanos();
  if (now >= *at_) return std::chrono::nanoseconds(0);
  return std::min(cap, std::chrono::nanoseconds(*at_ - now));
}

Deadline Deadline::Min(const Deadline& other) const {
  if (!at_) return other;
  if (!other.at_) return *this;
  return At(std::min(*at_, *other.at_));
}

Status Deadline::Check(Clock& clock, std::string_view what) const {
  if (!Expired(clock)) return Status::Ok();
  return DeadlineExceededError("deadline passed before " + std::string(what));
}

}  // namespace minion::resilience
