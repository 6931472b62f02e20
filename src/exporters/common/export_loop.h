#pragma once
// The retry loop around one Export call, shared by the OTLP/HTTP and OTLP/gRPC exporters: the
// Export deadline, backoff waits that Shutdown cuts short, counting, and failure logging.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "exporters/common/export_counters.h"
#include "exporters/common/failure_log.h"
#include "minion/common/clock.h"
#include "minion/exporters/retry.h"

namespace minion::exporters::internal {

// A one-way flag that wakes whoever waits on it: an exporter's Shutdown triggers it, backoff
// waits end on it. Thread-safe.
class ShutdownSignal {
 public:
  // Sets the flag and wakes the waiters; true only for the call that set it.
  bool Trigger();
  bool triggered() const { return flag_.load(std::memory_order_acquire); }
  // Waits up to `d`; false when the flag was set before or during the wait.
  bool WaitFor(std::chrono::nanoseconds d);

 private:
  std::atomic<bool> flag_{false};
  std::mutex mu_;  // only for cv_
  std::condition_variable cv_;
};

// The Clock::MonotonicNanos() reading by which an Export must return: now plus
// min(call_timeout, option_timeout), clamped to [0, cap] so a caller's milliseconds::max()
// cannot overflow the nanosecond arithmetic.
std::uint64_t ExportDeadline(Clock& clock, std::chrono::milliseconds call_timeout,
                             std::chrono::milliseconds option_timeout,
                             std::chrono::milliseconds cap);

// What an OTLP exporter keeps across Export calls for its retry loop: the Shutdown signal,
// the counters behind stats(), and the rate-limited failure log. Thread-safe.
struct ExportState {
  // `name` prefixes log lines ("otlp-http"); `clock` (not owned) paces the failure log.
  ExportState(std::string exporter_name, Clock& clock)
      : name(std::move(exporter_name)), failure_log(name, clock) {}
  const std::string name;
  ShutdownSignal shutdown;
  ExportCounters counters;
  FailureLog failure_log;
};

// Exports one batch of `count` spans: RunWithRetry with `policy` (a policy without its own
// `sleep` waits on state.shutdown, so Shutdown ends a backoff at once; attempts after the
// first count as retries), then accounts for the batch: delivered, less the spans the
// attempt reported in `rejected` (partial success), or failed, with a rate-limited
// "<name>: failed to export N spans to <destination> after K attempt(s): ..." line. True when
// delivered.
bool ExportWithRetry(
    ExportState& state, const RetryPolicy& policy, Clock& clock, std::uint64_t deadline,
    std::size_t count, std::string_view destination,
    const std::function<AttemptResult(std::chrono::nanoseconds, std::int64_t& rejected)>& attempt);

// Accounts for a batch of `count` spans dropped before sending (e.g. it could not be encoded).
void DropBatch(ExportState& state, std::size_t count, const Status& why);

}  // namespace minion::exporters::internal
