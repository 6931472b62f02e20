#pragma once
// FailureLog: an exporter's per-batch failure lines, rate-limited. When a backend is down,
// every batch fails; with many small batches one line each would flood stderr. At most one
// line goes out per `interval`; the failures in between are only counted, and the next line
// (or Flush, at Shutdown) says how many were suppressed. Thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "minion/common/clock.h"

namespace minion::exporters::internal {

class FailureLog {
 public:
  using Sink = std::function<void(std::string_view)>;
  static constexpr std::chrono::seconds kDefaultInterval{10};

  // `name` prefixes the suppression summary ("otlp-grpc: 12 more failures suppressed").
  // `clock` (not owned) must outlive this. A null `sink` writes through env::Warn.
  FailureLog(std::string name, Clock& clock, std::chrono::nanoseconds interval = kDefaultInterval,
             Sink sink = nullptr);

  // Writes the line `make_line()` returns, unless a line went out less than `interval` ago:
  // then the failure is only counted and `make_line` is not called.
  template <class MakeLine>
  void Report(MakeLine&& make_line) {
    std::uint64_t suppressed = 0;
    if (Admit(suppressed)) Write(std::forward<MakeLine>(make_line)(), suppressed);
  }

  // Writes "<name>: N more failures suppressed" if failures were counted since the last line
  // (so an exporter's Shutdown does not lose the count). No-op otherwise.
  void Flush();

  // Failures counted but not written since the last line.
  std::uint64_t suppressed() const;

 private:
  bool Admit(std::uint64_t& suppressed);
  void Write(std::string line, std::uint64_t suppressed);

  const std::string name_;
  Clock& clock_;
  const std::uint64_t interval_ns_;
  const Sink sink_;
  mutable std::mutex mu_;
  bool wrote_any_ = false;        // guarded by mu_
  std::uint64_t last_write_ = 0;  // guarded by mu_; MonotonicNanos of the last line
  std::uint64_t suppressed_ = 0;  // guarded by mu_
};

}  // namespace minion::exporters::internal
