#include "minion/exporters/retry.h"

#include <algorithm>
#include <thread>

namespace minion::exporters {

std::chrono::nanoseconds RetryPolicy::BackoffFor(int retry) const {
  retry::Backoff backoff;
  backoff.initial = initial_backoff;
  backoff.max = max_backoff;
  backoff.multiplier = backoff_multiplier;
  return backoff.Delay(retry, random);
}

bool IsRetryableHttpStatus(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

RetryOutcome RunWithRetry(const RetryPolicy& policy, Clock& clock, std::uint64_t deadline,
                          const std::function<AttemptResult(std::chrono::nanoseconds)>& attempt) {
  RetryOutcome outcome;
  const int max_attempts = std::max(1, policy.max_attempts);
  for (;;) {
    const std::uint64_t now = clock.MonotonicNanos();
    if (now >= deadline) {
      outcome.status = outcome.attempts == 0
                           ? DeadlineExceededError("export deadline passed before sending")
                           : DeadlineExceededError("export deadline passed; last error: " +
                                                   outcome.status.message());
      return outcome;
    }
    ++outcome.attempts;
    AttemptResult r = attempt(std::chrono::nanoseconds(deadline - now));
    if (r.outcome == AttemptOutcome::kSuccess) {
      outcome.status = Status::Ok();
      return outcome;
    }
    outcome.status = r.status.ok() ? Status(StatusCode::kUnknown, "attempt failed") : r.status;
    if (r.outcome == AttemptOutcome::kPermanent || outcome.attempts >= max_attempts) return outcome;

    const std::chrono::nanoseconds wait =
        r.retry_after ? *r.retry_after : policy.BackoffFor(outcome.attempts);
    const std::uint64_t after = clock.MonotonicNanos();
    if (after >= deadline || static_cast<std::uint64_t>(wait.count()) >= deadline - after) {
      // Waiting would outlive the Export call: give up now rather than overrun the timeout.
      outcome.status = Status(
          StatusCode::kDeadlineExceeded,
          "next retry would pass the export deadline; last error: " + outcome.status.message());
      return outcome;
    }
    if (policy.on_retry) policy.on_retry(outcome.attempts, wait, outcome.status);
    if (policy.sleep) {
      if (!policy.sleep(wait)) {
        outcome.status =
            CancelledError("retry wait interrupted; last error: " + outcome.status.message());
        return outcome;
      }
    } else {
      std::this_thread::sleep_for(wait);
    }
  }
}

}  // namespace minion::exporters
