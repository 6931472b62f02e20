#include "exporters/common/failure_log.h"

#include "minion/common/env.h"

namespace minion::exporters::internal {

FailureLog::FailureLog(std::string name, Clock& clock, std::chrono::nanoseconds interval, Sink sink)
    : name_(std::move(name)),
      clock_(clock),
      interval_ns_(static_cast<std::uint64_t>(std::max<std::int64_t>(0, interval.count()))),
      sink_(sink ? std::move(sink) : Sink([](std::string_view line) { env::Warn(line); })) {}

bool FailureLog::Admit(std::uint64_t& suppressed) {
  const std::uint64_t now = clock_.MonotonicNanos();
  std::lock_guard<std::mutex> lock(mu_);
  if (wrote_any_ && now - last_write_ < interval_ns_) {
    ++suppressed_;
    return false;
  }
  wrote_any_ = true;
  last_write_ = now;
  suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

void FailureLog::Write(std::string line, std::uint64_t suppressed) {
  // Written outside mu_: the sink does I/O, and lines racing each other may interleave in any
  // order without harm.
  if (suppressed > 0) {
    line += " (" + std::to_string(suppressed) + " more failure" + (suppressed == 1 ? "" : "s") +
            " suppressed since the previous message)";
  }
  sink_(line);
}

void FailureLog::Flush() {
  std::uint64_t suppressed = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    suppressed = suppressed_;
    suppressed_ = 0;
  }
  if (suppressed > 0) {
    sink_(name_ + ": " + std::to_string(suppressed) + " more failure" +
          (suppressed == 1 ? "" : "s") + " suppressed since the previous message");
  }
}

std::uint64_t FailureLog::suppressed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return suppressed_;
}

}  // namespace minion::exporters::internal
