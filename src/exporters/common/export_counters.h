#pragma once
// The atomic counters behind OtlpExporterStats, shared by the OTLP/HTTP and OTLP/gRPC exporters
// so both count a batch's outcome the same way. Thread-safe.

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "minion/exporters/otlp_exporter_stats.h"

namespace minion::exporters::internal {

class ExportCounters {
 public:
  void CountRequest() { requests_.fetch_add(1, std::memory_order_relaxed); }
  void CountRetry() { retries_.fetch_add(1, std::memory_order_relaxed); }
  void CountConnections(std::uint64_t n) { connections_.fetch_add(n, std::memory_order_relaxed); }

  // A batch of `count` spans that could not be delivered.
  void CountFailedBatch(std::uint64_t count) {
    failed_.fetch_add(count, std::memory_order_relaxed);
    failed_exports_.fetch_add(1, std::memory_order_relaxed);
  }

  // A delivered batch of which the server reported `rejected` spans (clamped to [0, count],
  // since the number comes from the peer) as rejected in partial_success.
  void CountDeliveredBatch(std::uint64_t count, std::int64_t rejected) {
    const auto rejected_u = static_cast<std::uint64_t>(
        std::clamp<std::int64_t>(rejected, 0, static_cast<std::int64_t>(count)));
    rejected_.fetch_add(rejected_u, std::memory_order_relaxed);
    exported_.fetch_add(count - rejected_u, std::memory_order_relaxed);
  }

  OtlpExporterStats Snapshot() const {
    OtlpExporterStats s;
    s.exported_spans = exported_.load(std::memory_order_relaxed);
    s.failed_spans = failed_.load(std::memory_order_relaxed);
    s.rejected_spans = rejected_.load(std::memory_order_relaxed);
    s.requests = requests_.load(std::memory_order_relaxed);
    s.retries = retries_.load(std::memory_order_relaxed);
    s.failed_exports = failed_exports_.load(std::memory_order_relaxed);
    s.connections = connections_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  // Relaxed: they are statistics with no ordering duty.
  std::atomic<std::uint64_t> exported_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> failed_exports_{0};
  std::atomic<std::uint64_t> connections_{0};
};

}  // namespace minion::exporters::internal
