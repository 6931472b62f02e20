#pragma once
// Retrying OTLP exports the way the specification asks: only transient failures are retried
// (HTTP 429/502/503/504, gRPC UNAVAILABLE etc., connection errors), with exponential backoff
// and full jitter, honouring a server's Retry-After / RetryInfo, and never past the deadline of
// the Export call that started it. Time and randomness are injected so tests never sleep.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "minion/common/clock.h"
#include "minion/common/retry.h"
#include "minion/common/status.h"

namespace minion::exporters {

// A value type; copies share the injected functions. RunWithRetry is thread-safe as long as
// the injected functions are.
struct RetryPolicy {
  int max_attempts = 5;  // including the first; 1 disables retries
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{5000};
  double backoff_multiplier = 1.5;
  // Uniform in [0, 1). Null: a thread-local PRNG.
  std::function<double()> random;
  // Waits `d`; returns false if the wait was interrupted (e.g. by Shutdown) and the caller
  // should stop retrying. Null: the caller's default (the exporters wait on their shutdown
  // condition; RunWithRetry alone uses std::this_thread::sleep_for).
  std::function<bool(std::chrono::nanoseconds)> sleep;
  // Called just before each wait with the retry number (1 = before the second attempt), the
  // wait, and the failure being retried. Optional; for logs, metrics and tests.
  std::function<void(int, std::chrono::nanoseconds, const Status&)> on_retry;

  // The jittered delay before retry number `retry` (1 = the second attempt): uniform in
  // [0, min(max_backoff, initial_backoff * multiplier^(retry-1))] ("full jitter": the
  // shared retry::Backoff with its default jitter).
  std::chrono::nanoseconds BackoffFor(int retry) const;
};

// Transient HTTP statuses the OTLP/HTTP specification lists as retryable.
bool IsRetryableHttpStatus(int status);

// Retry-After values are parsed by the shared toolkit.
using retry::ParseRetryAfter;

enum class AttemptOutcome { kSuccess, kRetryable, kPermanent };

struct AttemptResult {
  AttemptOutcome outcome = AttemptOutcome::kSuccess;
  Status status;  // why it failed (ignored on success)
  // What the server asked for (Retry-After, RetryInfo); replaces the backoff when set.
  std::optional<std::chrono::nanoseconds> retry_after;
};

struct RetryOutcome {
  Status status;     // OK, or the last attempt's failure (kDeadlineExceeded if time ran out)
  int attempts = 0;  // attempts made
};

// Calls `attempt(remaining)` until it succeeds, fails permanently, `policy.max_attempts` is
// reached, or the next wait would pass `deadline` (a Clock::MonotonicNanos() reading).
// `remaining` is the time left before the deadline, for the attempt's own timeout.
RetryOutcome RunWithRetry(const RetryPolicy& policy, Clock& clock, std::uint64_t deadline,
                          const std::function<AttemptResult(std::chrono::nanoseconds)>& attempt);

}  // namespace minion::exporters
