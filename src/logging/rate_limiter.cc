#include "minion/logging/rate_limiter.h"

#include <string>
#include <vector>

#include "logging/logging_internal.h"

namespace minion::logging {

RateLimitedLogger::RateLimitedLogger(std::chrono::nanoseconds interval, Clock* clock,
                                     std::size_t max_keys)
    : interval_ns_(static_cast<std::uint64_t>(std::max<std::int64_t>(0, interval.count()))),
      clock_(clock != nullptr ? *clock : SystemClock()),
      max_keys_(std::max<std::size_t>(1, max_keys)) {}

bool RateLimitedLogger::Log(std::string_view key, Level level, std::string_view component,
                            std::string_view message, Fields fields) {
  if (!Enabled(level)) return false;
  std::uint64_t suppressed = 0;
  {
    const std::uint64_t now = clock_.MonotonicNanos();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(std::string(key));
    if (it == entries_.end()) {
      if (entries_.size() >= max_keys_) EvictIdle(now);
      it = entries_.emplace(std::string(key), Entry{}).first;
      it->second.last_write = now;
      it->second.component = std::string(component);
    } else if (now - it->second.last_write < interval_ns_) {
      ++it->second.suppressed;
      internal::AddSuppressed(1);
      return false;
    } else {
      suppressed = it->second.suppressed;
      it->second.suppressed = 0;
      it->second.last_write = now;
    }
  }
  if (suppressed == 0) {
    logging::Log(level, component, message, fields);
    return true;
  }
  // The held-back count rides on the next line as one more field.
  std::vector<Field> all(fields.begin(), fields.end());
  all.emplace_back("suppressed", suppressed);
  logging::LogFields(level, component, message, all);
  return true;
}

void RateLimitedLogger::Flush() {
  std::vector<std::pair<std::string, Entry>> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, entry] : entries_) {
      if (entry.suppressed == 0) continue;
      pending.emplace_back(key, entry);
      entry.suppressed = 0;
    }
  }
  for (const auto& [key, entry] : pending) {
    logging::Log(Level::kWarn, entry.component, "similar lines suppressed",
                 {{"key", std::string_view(key)}, {"suppressed", entry.suppressed}});
  }
}

std::uint64_t RateLimitedLogger::pending_suppressed() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::uint64_t n = 0;
  for (const auto& [key, entry] : entries_) n += entry.suppressed;
  return n;
}

void RateLimitedLogger::EvictIdle(std::uint64_t now) {
  // Keys idle for a whole interval with nothing held back carry no information.
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.suppressed == 0 && now - it->second.last_write >= interval_ns_) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  // Still full: forget the oldest entry so a new key is never refused.
  if (entries_.size() >= max_keys_) {
    auto oldest = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.last_write < oldest->second.last_write) oldest = it;
    }
    entries_.erase(oldest);
  }
}

}  // namespace minion::logging
