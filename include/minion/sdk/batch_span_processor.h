#pragma once
// BatchSpanProcessor: queues ended spans in bounded lock-free rings and exports them from one
// background thread, in batches, when a batch is full or the schedule delay passes.
//
// OnEnd never blocks and never allocates: when the queue is full the span is dropped and
// counted (`stats().dropped`), and the count is logged. ForceFlush and Shutdown return within
// their timeouts. Thread-safe. Owns its export thread and joins it in Shutdown (or the
// destructor).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "minion/common/env.h"
#include "minion/sdk/span_exporter.h"
#include "minion/sdk/span_processor.h"

namespace minion::sdk {

// The most spans a queue holds, whatever is configured: the rings are allocated up front (16
// bytes a slot) and every queued span holds its record, so an unbounded OTEL_BSP_MAX_QUEUE_SIZE
// took gigabytes before the first span. 262,144 spans is 4 MiB of ring and over a minute of
// 4,000 spans/s with a dead collector; larger values are cut to it with a warning.
inline constexpr std::size_t kMaxBatchQueueSize = std::size_t{1} << 18;

// Defaults are the specification's (OTEL_BSP_*).
struct BatchSpanProcessorOptions {
  std::size_t max_queue_size = 2048;
  std::chrono::milliseconds schedule_delay{5000};
  std::chrono::milliseconds export_timeout{30000};
  std::size_t max_export_batch_size = 512;

  // The defaults overridden by OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT,
  // OTEL_BSP_MAX_QUEUE_SIZE and OTEL_BSP_MAX_EXPORT_BATCH_SIZE. Invalid values are reported on
  // stderr and ignored; a queue size over kMaxBatchQueueSize is cut to it with a warning.
  // `lookup` reads a variable (default: the process environment).
  static BatchSpanProcessorOptions FromEnv(const env::Lookup& lookup = env::Get);
};

struct BatchSpanProcessorStats {
  std::uint64_t enqueued = 0;  // spans accepted into the queue
  std::uint64_t dropped = 0;   // spans refused because the queue was full (or after shutdown)
  std::uint64_t exported = 0;  // spans in batches the exporter accepted
  std::uint64_t export_failures = 0;  // spans in batches the exporter refused
  std::uint64_t batches = 0;          // Export calls
};

class BatchSpanProcessor final : public SpanProcessor {
 public:
  explicit BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                              BatchSpanProcessorOptions options = {});
  ~BatchSpanProcessor() override;

  void OnEnd(trace::SpanDataPtr span) noexcept override;
  Status ForceFlush(std::chrono::milliseconds timeout) noexcept override;
  Status Shutdown(std::chrono::milliseconds timeout) noexcept override;

  BatchSpanProcessorStats stats() const noexcept;
  const BatchSpanProcessorOptions& options() const noexcept { return options_; }

 private:
  class Ring;
  class Queue;
  void Run();
  std::size_t DrainAndExport(std::size_t max_spans);

  const BatchSpanProcessorOptions options_;
  std::unique_ptr<SpanExporter> exporter_;  // used only by the export thread after construction
  std::unique_ptr<Queue> queue_;
  const std::size_t shard_wake_threshold_;  // a shard's share of one export batch
  const std::size_t wake_check_mask_;       // look at the total when (shard size & mask) == 0

  std::mutex mu_;
  std::condition_variable wake_cv_;    // wakes the export thread
  std::condition_variable flush_cv_;   // wakes ForceFlush callers
  std::uint64_t flush_requested_ = 0;  // guarded by mu_
  std::uint64_t flush_completed_ = 0;  // guarded by mu_
  bool stop_ = false;                  // guarded by mu_
  std::atomic<bool> wake_pending_{false};
  std::atomic<bool> shut_down_{false};

  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> exported_{0};
  std::atomic<std::uint64_t> export_failures_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::uint64_t dropped_reported_ = 0;  // export thread only

  std::thread thread_;
};

}  // namespace minion::sdk
