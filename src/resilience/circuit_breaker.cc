#include "minion/resilience/circuit_breaker.h"

#include <cstdio>

namespace minion::resilience {
namespace {

constexpr std::string_view kRejectPrefix = "circuit breaker '";

CircuitBreakerOptions Sanitize(CircuitBreakerOptions o) {
  const CircuitBreakerOptions d;
  if (o.window_size == 0) o.window_size = d.window_size;
  if (o.minimum_calls == 0 || o.minimum_calls > o.window_size)
    o.minimum_calls = std::min(d.minimum_calls, o.window_size);
  if (!(o.failure_rate_threshold > 0 && o.failure_rate_threshold <= 1))
    o.failure_rate_threshold = d.failure_rate_threshold;
  if (o.consecutive_failures < 0) o.consecutive_failures = d.consecutive_failures;
  if (o.slow_call_duration.count() <= 0) o.slow_call_duration = d.slow_call_duration;
  if (!(o.slow_call_rate_threshold > 0 && o.slow_call_rate_threshold <= 1))
    o.slow_call_rate_threshold = d.slow_call_rate_threshold;
  if (o.open_duration.count() < 0) o.open_duration = d.open_duration;
  if (o.half_open_max_calls < 1) o.half_open_max_calls = d.half_open_max_calls;
  return o;
}

std::string Percent(double rate) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%.0f%%", rate * 100);
  return buf;
}

std::string Seconds(std::uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g s", static_cast<double>(ns) / 1e9);
  return buf;
}

}  // namespace

std::string_view BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kHalfOpen:
      return "half_open";
    case BreakerState::kOpen:
      return "open";
  }
  return "unknown";
}

Status CircuitBreakerOptions::Validate() const {
  if (window_size == 0)
    return InvalidArgumentError("circuit breaker: window_size must be at least 1");
  if (minimum_calls == 0 || minimum_calls > window_size)
    return InvalidArgumentError(
        "circuit breaker: minimum_calls must be between 1 and window_size (" +
        std::to_string(window_size) + ")");
  if (!(failure_rate_threshold > 0 && failure_rate_threshold <= 1))
    return InvalidArgumentError("circuit breaker: failure_rate_threshold must be in (0, 1]");
  if (consecutive_failures < 0)
    return InvalidArgumentError("circuit breaker: consecutive_failures must be >= 0");
  if (slow_call_duration.count() <= 0)
    return InvalidArgumentError("circuit breaker: slow_call_duration must be positive");
  if (!(slow_call_rate_threshold > 0 && slow_call_rate_threshold <= 1))
    return InvalidArgumentError("circuit breaker: slow_call_rate_threshold must be in (0, 1]");
  if (open_duration.count() < 0)
    return InvalidArgumentError("circuit breaker: open_duration must be >= 0");
  if (half_open_max_calls < 1)
    return InvalidArgumentError("circuit breaker: half_open_max_calls must be at least 1");
  return Status::Ok();
}

CircuitBreaker::CircuitBreaker(std::string name, CircuitBreakerOptions options, Clock* clock)
    : name_(std::move(name)),
      options_(Sanitize(options)),
      clock_(clock != nullptr ? *clock : SystemClock()),
      window_(options_.window_size, 0) {}

bool CircuitBreaker::IsRejection(const Status& status) {
  return status.code() == StatusCode::kUnavailable && status.message().rfind(kRejectPrefix, 0) == 0;
}

void CircuitBreaker::AddListener(Listener listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.push_back(std::move(listener));
}

BreakerTransition CircuitBreaker::TransitionLocked(BreakerState to, std::string reason) {
  BreakerTransition t{name_, state_, to, std::move(reason)};
  if (to == state_) return t;
  state_ = to;
  ++generation_;  // outcomes of calls granted before this change no longer count
  ++stats_.transitions;
  stats_.state = to;
  probes_granted_ = probes_done_ = probe_failures_ = probe_slow_ = 0;
  consecutive_ = 0;
  if (to == BreakerState::kOpen) opened_at_ = clock_.MonotonicNanos();
  if (to == BreakerState::kClosed) {
    std::fill(window_.begin(), window_.end(), 0);
    window_next_ = window_count_ = window_failures_ = window_slow_ = 0;
  }
  return t;
}

void CircuitBreaker::MaybeHalfOpenLocked(std::uint64_t now, std::vector<BreakerTransition>& out) {
  if (state_ != BreakerState::kOpen) return;
  const auto open_ns = static_cast<std::uint64_t>(options_.open_duration.count());
  if (now - opened_at_ < open_ns) return;
  out.push_back(TransitionLocked(BreakerState::kHalfOpen,
                                 "open for " + Seconds(now - opened_at_) + "; letting " +
                                     std::to_string(options_.half_open_max_calls) +
                                     " probe call(s) through"));
}

void CircuitBreaker::Notify(const std::vector<BreakerTransition>& transitions) {
  if (transitions.empty()) return;
  std::vector<Listener> listeners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    listeners = listeners_;
  }
  for (const auto& t : transitions) {
    if (t.from == t.to) continue;
    for (const auto& l : listeners) l(t);
  }
}

Result<CircuitBreaker::Permit> CircuitBreaker::TryAcquire() {
  std::vector<BreakerTransition> transitions;
  Result<Permit> out = Permit{};
  {
    const std::uint64_t now = clock_.MonotonicNanos();
    std::lock_guard<std::mutex> lock(mu_);
    MaybeHalfOpenLocked(now, transitions);
    if (state_ == BreakerState::kOpen) {
      ++stats_.rejected;
      const auto open_ns = static_cast<std::uint64_t>(options_.open_duration.count());
      const std::uint64_t left = opened_at_ + open_ns > now ? opened_at_ + open_ns - now : 0;
      out = UnavailableError(std::string(kRejectPrefix) + name_ +
                             "' is open; call rejected without being made (next probe in " +
                             Seconds(left) + ")");
    } else if (state_ == BreakerState::kHalfOpen &&
               probes_granted_ >= options_.half_open_max_calls) {
      ++stats_.rejected;
      out = UnavailableError(std::string(kRejectPrefix) + name_ + "' is half-open with all " +
                             std::to_string(options_.half_open_max_calls) +
                             " probe call(s) in flight; call rejected without being made");
    } else {
      Permit p;
      p.started = now;
      p.generation = generation_;
      p.probe = state_ == BreakerState::kHalfOpen;
      if (p.probe) ++probes_granted_;
      out = p;
    }
  }
  Notify(transitions);
  return out;
}

void CircuitBreaker::Release(const Permit& permit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (permit.probe && permit.generation == generation_ && probes_granted_ > 0) --probes_granted_;
}

void CircuitBreaker::OnSuccess(const Permit& permit) { Record(permit, false); }
void CircuitBreaker::OnFailure(const Permit& permit) { Record(permit, true); }

void CircuitBreaker::Record(const Permit& permit, bool failure) {
  std::vector<BreakerTransition> transitions;
  {
    const std::uint64_t now = clock_.MonotonicNanos();
    const bool slow =
        now - permit.started > static_cast<std::uint64_t>(options_.slow_call_duration.count());
    std::lock_guard<std::mutex> lock(mu_);
    (failure ? stats_.failures : stats_.successes) += 1;
    if (slow) ++stats_.slow_calls;
    // A call granted in an earlier state epoch says nothing about the current one.
    if (permit.generation != generation_) return;
    consecutive_ = failure ? consecutive_ + 1 : 0;
    const int consecutive_limit = options_.consecutive_failures;

    if (state_ == BreakerState::kHalfOpen) {
      ++probes_done_;
      probe_failures_ += failure;
      probe_slow_ += slow;
      if (failure && consecutive_limit == 1) {
        transitions.push_back(TransitionLocked(BreakerState::kOpen, "probe call failed"));
      } else if (probes_done_ >= options_.half_open_max_calls) {
        const double f = static_cast<double>(probe_failures_) / probes_done_;
        const double s = static_cast<double>(probe_slow_) / probes_done_;
        if (f >= options_.failure_rate_threshold) {
          transitions.push_back(TransitionLocked(
              BreakerState::kOpen, "probe failure rate " + Percent(f) +
                                       " >= " + Percent(options_.failure_rate_threshold)));
        } else if (s >= options_.slow_call_rate_threshold) {
          transitions.push_back(TransitionLocked(
              BreakerState::kOpen, "probe slow-call rate " + Percent(s) +
                                       " >= " + Percent(options_.slow_call_rate_threshold)));
        } else {
          transitions.push_back(TransitionLocked(
              BreakerState::kClosed, std::to_string(probes_done_ - probe_failures_) + " of " +
                                         std::to_string(probes_done_) +
                                         " probe call(s) succeeded"));
        }
      }
    } else if (state_ == BreakerState::kClosed) {
      // Slide the window.
      std::uint8_t& slot = window_[window_next_];
      if (window_count_ == window_.size()) {
        window_failures_ -= slot & 1;
        window_slow_ -= (slot >> 1) & 1;
      } else {
        ++window_count_;
      }
      slot = static_cast<std::uint8_t>((failure ? 1 : 0) | (slow ? 2 : 0));
      window_failures_ += failure;
      window_slow_ += slow;
      window_next_ = (window_next_ + 1) % window_.size();

      if (consecutive_limit > 0 && consecutive_ >= consecutive_limit) {
        transitions.push_back(TransitionLocked(
            BreakerState::kOpen, std::to_string(consecutive_) + " consecutive failures"));
      } else if (window_count_ >= options_.minimum_calls) {
        const double f = static_cast<double>(window_failures_) / window_count_;
        const double s = static_cast<double>(window_slow_) / window_count_;
        const std::string over = " over the last " + std::to_string(window_count_) + " calls";
        if (f >= options_.failure_rate_threshold) {
          transitions.push_back(TransitionLocked(
              BreakerState::kOpen, "failure rate " + Percent(f) +
                                       " >= " + Percent(options_.failure_rate_threshold) + over));
        } else if (s >= options_.slow_call_rate_threshold) {
          transitions.push_back(TransitionLocked(
              BreakerState::kOpen, "slow-call rate " + Percent(s) +
                                       " >= " + Percent(options_.slow_call_rate_threshold) + over));
        }
      }
    }
  }
  Notify(transitions);
}

BreakerState CircuitBreaker::state() {
  std::vector<BreakerTransition> transitions;
  BreakerState s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    MaybeHalfOpenLocked(clock_.MonotonicNanos(), transitions);
    s = state_;
  }
  Notify(transitions);
  return s;
}

BreakerStats CircuitBreaker::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CircuitBreaker::Force(BreakerState state) {
  std::vector<BreakerTransition> transitions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    transitions.push_back(TransitionLocked(state, "forced"));
  }
  Notify(transitions);
}

}  // namespace minion::resilience
