#pragma once
// CircuitBreaker: stops calling a dependency that is failing, so callers fail fast instead of
// waiting on timeouts, and lets a few probe calls through once it may have recovered. The
// semantics follow resilience4j's count-based breaker (with Envoy outlier detection's
// consecutive-failure rule on top):
//   CLOSED    calls pass; outcomes go into a sliding window of the last `window_size` calls.
//             Once the window holds `minimum_calls`, the breaker opens when the failure rate
//             or the slow-call rate reaches its threshold. Independently, `consecutive_failures`
//             failures in a row open it at once.
//   OPEN      every call is rejected without being made, for `open_duration`.
//   HALF_OPEN at most `half_open_max_calls` probes are let through (others are rejected);
//             once all of them finished, the breaker closes if their failure and slow rates are
//             below the thresholds, else opens again. Any probe failing while
//             `consecutive_failures` is 1 reopens at once.
// Time comes from an injected Clock, so tests move it instead of sleeping. Thread-safe: one
// mutex around the window and state; listeners run after it is released.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "minion/common/clock.h"
#include "minion/common/status.h"

namespace minion::resilience {

enum class BreakerState { kClosed = 0, kHalfOpen = 1, kOpen = 2 };
std::string_view BreakerStateName(BreakerState state);  // "closed", "half_open", "open"

struct CircuitBreakerOptions {
  std::size_t window_size = 20;         // calls in the sliding window
  std::size_t minimum_calls = 10;       // before rates are evaluated
  double failure_rate_threshold = 0.5;  // (0, 1]; open when failures / calls >= this
  int consecutive_failures = 5;         // open after this many in a row; 0 disables the rule
  // A call that took longer than this counts as slow (successful or not).
  std::chrono::nanoseconds slow_call_duration = std::chrono::seconds(60);
  double slow_call_rate_threshold = 1.0;  // (0, 1]; open when slow / calls >= this
  std::chrono::nanoseconds open_duration = std::chrono::seconds(30);
  int half_open_max_calls = 3;  // probes in half-open, at least 1

  // InvalidArgument naming the field when a value is out of range.
  Status Validate() const;
};

// What a state change reports to listeners (span events, metrics, logs).
struct BreakerTransition {
  std::string_view name;
  BreakerState from;
  BreakerState to;
  std::string reason;  // "failure rate 60% >= 50% over 10 calls", "open for 30 s", ...
};

struct BreakerStats {
  BreakerState state = BreakerState::kClosed;
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  std::uint64_t slow_calls = 0;
  std::uint64_t rejected = 0;
  std::uint64_t transitions = 0;
};

class CircuitBreaker {
 public:
  // A permission to make one call; pass it back to OnSuccess / OnFailure exactly once.
  struct Permit {
    std::uint64_t started = 0;     // MonotonicNanos at acquisition
    std::uint64_t generation = 0;  // the state epoch it was granted in
    bool probe = false;            // granted in half-open
  };
  using Listener = std::function<void(const BreakerTransition&)>;

  // `clock` (not owned; null: SystemClock()) must outlive the breaker. Invalid options are
  // replaced by the defaults field by field (Validate() reports them first).
  CircuitBreaker(std::string name, CircuitBreakerOptions options = {}, Clock* clock = nullptr);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // A permit, or Unavailable ("circuit breaker 'llm:openai' is open ...; call rejected
  // without being made") when the call must not be made. Moves OPEN to HALF_OPEN when the
  // open duration has passed.
  Result<Permit> TryAcquire();
  void OnSuccess(const Permit& permit);
  void OnFailure(const Permit& permit);
  // Returns a permit whose call was not made after all (e.g. cancelled before starting).
  void Release(const Permit& permit);

  // Runs `call` (returning Status or Result<T>) when permitted, recording its outcome; a
  // failure is any non-OK status for which `is_failure` (default: all) returns true.
  template <class F>
  auto Call(F&& call, const std::function<bool(const Status&)>& is_failure = nullptr)
      -> decltype(call()) {
    auto permit = TryAcquire();
    if (!permit.ok()) return permit.status();
    auto result = call();
    const Status& status = StatusOf(result);
    if (status.ok() || (is_failure && !is_failure(status))) {
      OnSuccess(*permit);
    } else {
      OnFailure(*permit);
    }
    return result;
  }

  BreakerState state();  // may move OPEN to HALF_OPEN (time-based)
  BreakerStats stats() const;
  const std::string& name() const { return name_; }
  const CircuitBreakerOptions& options() const { return options_; }
  // Listeners are called on the thread whose call caused the change, outside the lock.
  void AddListener(Listener listener);
  // Forces a state (operations: "open it now"); reported to listeners with reason "forced".
  void Force(BreakerState state);

  // True for the Unavailable statuses this class returns on rejection.
  static bool IsRejection(const Status& status);

 private:
  static const Status& StatusOf(const Status& s) { return s; }
  template <class T>
  static const Status& StatusOf(const Result<T>& r) {
    return r.status();
  }
  void Record(const Permit& permit, bool failure);
  // Each returns the transition to report (to == from: none). Caller holds mu_.
  BreakerTransition TransitionLocked(BreakerState to, std::string reason);
  void MaybeHalfOpenLocked(std::uint64_t now, std::vector<BreakerTransition>& out);
  void Notify(const std::vector<BreakerTransition>& transitions);

  const std::string name_;
  const CircuitBreakerOptions options_;
  Clock& clock_;

  mutable std::mutex mu_;
  BreakerState state_ = BreakerState::kClosed;  // guarded by mu_
  std::uint64_t generation_ = 0;                // guarded by mu_
  std::uint64_t opened_at_ = 0;                 // guarded by mu_
  // Sliding window: outcome bits of the last calls, as a ring.
  std::vector<std::uint8_t> window_;  // guarded by mu_; bit 0 failure, bit 1 slow
  std::size_t window_next_ = 0;       // guarded by mu_
  std::size_t window_count_ = 0;      // guarded by mu_
  std::size_t window_failures_ = 0;   // guarded by mu_
  std::size_t window_slow_ = 0;       // guarded by mu_
  int consecutive_ = 0;               // guarded by mu_
  int probes_granted_ = 0;            // guarded by mu_
  int probes_done_ = 0;               // guarded by mu_
  int probe_failures_ = 0;            // guarded by mu_
  int probe_slow_ = 0;                // guarded by mu_
  BreakerStats stats_;                // guarded by mu_
  std::vector<Listener> listeners_;   // guarded by mu_
};

}  // namespace minion::resilience
