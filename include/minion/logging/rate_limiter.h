#pragma once
// RateLimitedLogger: for failures that repeat (a backend down, a worker failing every task),
// at most one line per key per `interval`; the lines held back in between are counted, and the
// next line written for that key carries them as the field `suppressed` (Flush writes a
// summary for keys with a count left). Keys are chosen by the program ("llm:openai:timeout"),
// never taken from request data, so their number stays bounded; beyond `max_keys` distinct
// keys, idle ones are forgotten. Thread-safe.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "minion/common/clock.h"
#include "minion/logging/logging.h"

namespace minion::logging {

class RateLimitedLogger {
 public:
  static constexpr std::chrono::seconds kDefaultInterval{10};

  // `clock` (not owned; null: SystemClock()) must outlive this.
  explicit RateLimitedLogger(std::chrono::nanoseconds interval = kDefaultInterval,
                             Clock* clock = nullptr, std::size_t max_keys = 1024);

  // Logs like logging::Log unless a line for `key` went out less than `interval` ago; then
  // only counts it. True when the line was written.
  bool Log(std::string_view key, Level level, std::string_view component, std::string_view message,
           Fields fields = {});

  // For every key with suppressed lines: "<count> similar lines suppressed" at warn level.
  void Flush();

  // Lines held back and not yet reported, over all keys.
  std::uint64_t pending_suppressed() const;

 private:
  struct Entry {
    std::uint64_t last_write = 0;  // MonotonicNanos
    std::uint64_t suppressed = 0;
    std::string component;
  };
  void EvictIdle(std::uint64_t now);

  const std::uint64_t interval_ns_;
  Clock& clock_;
  const std::size_t max_keys_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace minion::logging
