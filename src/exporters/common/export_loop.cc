#include "exporters/common/export_loop.h"

#include <algorithm>

namespace minion::exporters::internal {

bool ShutdownSignal::Trigger() {
  if (flag_.exchange(true, std::memory_order_acq_rel)) return false;
  {
    // Pairs with the predicate check in WaitFor, so a waiter cannot miss the notification
    // between testing the flag and blocking.
    std::lock_guard<std::mutex> lock(mu_);
  }
  cv_.notify_all();
  return true;
}

bool ShutdownSignal::WaitFor(std::chrono::nanoseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return flag_.load(std::memory_order_acquire); });
}

std::uint64_t ExportDeadline(Clock& clock, std::chrono::milliseconds call_timeout,
                             std::chrono::milliseconds option_timeout,
                             std::chrono::milliseconds cap) {
  const std::chrono::milliseconds budget =
      std::clamp(std::min(call_timeout, option_timeout), std::chrono::milliseconds(0), cap);
  return clock.MonotonicNanos() +
         static_cast<std::uint64_t>(std::chrono::nanoseconds(budget).count());
}

bool ExportWithRetry(
    ExportState& state, const RetryPolicy& configured, Clock& clock, std::uint64_t deadline,
    std::size_t count, std::string_view destination,
    const std::function<AttemptResult(std::chrono::nanoseconds, std::int64_t&)>& attempt) {
  RetryPolicy policy = configured;
  if (!policy.sleep) {
    policy.sleep = [&state](std::chrono::nanoseconds d) { return state.shutdown.WaitFor(d); };
  }
  int attempt_no = 0;
  std::int64_t rejected = 0;
  const RetryOutcome outcome =
      RunWithRetry(policy, clock, deadline, [&](std::chrono::nanoseconds remaining) {
        if (attempt_no++ > 0) state.counters.CountRetry();
        return attempt(remaining, rejected);
      });
  if (!outcome.status.ok()) {
    state.failure_log.Report([&] {
      return state.name + ": failed to export " + std::to_string(count) + " spans to " +
             std::string(destination) + " after " + std::to_string(outcome.attempts) +
             " attempt(s): " + outcome.status.ToString();
    });
    state.counters.CountFailedBatch(count);
    return false;
  }
  state.counters.CountDeliveredBatch(count, rejected);
  return true;
}

void DropBatch(ExportState& state, std::size_t count, const Status& why) {
  state.failure_log.Report([&] {
    return state.name + ": dropping " + std::to_string(count) + " spans: " + why.ToString();
  });
  state.counters.CountFailedBatch(count);
}

}  // namespace minion::exporters::internal
