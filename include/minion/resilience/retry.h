#pragma once
// Retry: calls an operation again after a transient failure, waiting per the project's one
// backoff formula (minion/common/retry.h: exponential, full jitter by default), never past the
// call's Deadline, and only while the retry budget allows. The budget (Envoy's / gRPC's idea)
// keeps retries a bounded fraction of traffic so a struggling dependency is not hit with a
// retry storm: each first attempt deposits `budget_ratio` tokens (up to `budget_max_tokens`),
// each retry withdraws one; with the bucket empty the failure is returned at once. Waiting is
// injected (default: a timed wait the Retrier's Cancel() cuts short), so tests never sleep.
// Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "minion/common/clock.h"
#include "minion/common/retry.h"
#include "minion/common/status.h"
#include "minion/resilience/limits.h"

namespace minion::resilience {

struct RetryOptions {
  int max_attempts = 3;  // including the first; 1 disables retrying
  retry::Backoff backoff;
  double budget_ratio = 0.2;      // retries earned per first attempt
  double budget_max_tokens = 10;  // the budget's bucket size (also its starting content)
  retry::UniformRandom random;    // null: retry::DefaultUniformRandom
  // Which failures are worth another attempt (default: Unavailable, DeadlineExceeded of the
  // attempt itself, ResourceExhausted, Aborted).
  std::function<bool(const Status&)> retryable;
  // Waits `d`; false when the wait was cut short and retrying should stop. Null: a timed wait
  // on the Retrier, ended by Cancel().
  std::function<bool(std::chrono::nanoseconds)> sleep;
};

// The retry budget on its own, for retry loops that are not one synchronous Run (the
// orchestrator's event-driven subtask retries). Every first attempt deposits `ratio` tokens
// (the bucket holds at most `max_tokens`, and starts full); every retry must withdraw one.
// Thread-safe; share one budget among the calls whose retries it should bound together.
class RetryBudget {
 public:
  explicit RetryBudget(double ratio = 0.2, double max_tokens = 10);
  void Deposit();      // a first attempt
  bool TryWithdraw();  // a retry; false (and nothing taken) when less than a token is left
  double tokens() const;

 private:
  const double ratio_;
  const double max_tokens_;
  mutable std::mutex mu_;
  double tokens_;  // guarded by mu_
};

struct RetryEvent {
  int retry = 0;  // 1 = before the second attempt
  std::chrono::nanoseconds delay{0};
  Status failure;  // the failure being retried
  std::string_view
      outcome;  // "retried", "budget_exhausted", "deadline", "not_retryable", "exhausted"
};

class Retrier {
 public:
  // `clock` (not owned; null: SystemClock()) must outlive the Retrier.
  Retrier(std::string name, RetryOptions options = {}, Clock* clock = nullptr);
  Retrier(const Retrier&) = delete;
  Retrier& operator=(const Retrier&) = delete;

  // Runs `attempt(n)` (n = 1, 2, ...) until it succeeds, fails in a way not worth retrying,
  // attempts run out, the budget is empty, or the next wait would pass `deadline`. Returns the
  // last attempt's result; `on_event` (optional) hears every decision (for span events,
  // metrics and logs).
  template <class T>
  Result<T> Run(const std::function<Result<T>(int)>& attempt, Deadline deadline = Deadline::Never(),
                const std::function<void(const RetryEvent&)>& on_event = nullptr) {
    Deposit();
    for (int n = 1;; ++n) {
      Result<T> r = attempt(n);
      if (r.ok()) return r;
      const Status failure = r.status();
      std::chrono::nanoseconds delay{0};
      const std::string_view outcome = Decide(n, failure, deadline, delay);
      if (on_event) on_event(RetryEvent{n, delay, failure, outcome});
      if (outcome != "retried") return r;
      if (!Wait(delay)) return r;
    }
  }

  // Ends every wait in progress and makes later ones return false at once. Idempotent.
  void Cancel();
  double budget_tokens() const;
  const std::string& name() const { return name_; }

 private:
  void Deposit();
  // "retried" (and the delay) or why not.
  std::string_view Decide(int attempt, const Status& failure, const Deadline& deadline,
                          std::chrono::nanoseconds& delay);
  bool Wait(std::chrono::nanoseconds d);

  const std::string name_;
  RetryOptions options_;
  Clock& clock_;
  mutable std::mutex mu_;
  double tokens_;               // guarded by mu_
  bool cancelled_ = false;      // guarded by mu_
  std::condition_variable cv_;  // for the default wait
};

}  // namespace minion::resilience
