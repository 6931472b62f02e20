#pragma once
// TailSamplingProcessor: decides whether to keep a trace after seeing it, not when it starts.
//
// It holds each LOCAL trace's spans (those of one trace id that end in this process) until the
// trace's local root ends — the span whose parent is absent or remote — and then passes the
// whole trace to the downstream processor (typically a BatchSpanProcessor) if
//   1. any span has status ERROR (reason kError), or
//   2. a span carries the attribute `minion.tail.keep=true` or ForceKeep() named the trace —
//      how the runtime keeps a trace whose remote subtask reported a failure (kForced), or
//   3. the local root lasted at least `latency_threshold` (kLatency), or
//   4. a deterministic draw on the trace id says so: the lower 8 bytes read big-endian and
//      shifted right by one fall below ratio * 2^63 — the rule of
//      sdk::MakeTraceIdRatioBasedSampler, so every process keeps the same ratio-sampled
//      traces (kRatio);
// otherwise the trace is dropped and counted. Spans that end after their trace was decided
// follow the decision (remembered in a bounded cache: 4-way set-associative, least recently
// used replaced first). A trace whose local root never ends is
// decided `decision_wait` after its first span arrived, on what has arrived.
//
// Tail sampling only sees spans that were recorded: configure the TracerProvider with
// sdk::MakeAlwaysOnSampler() (or ParentBased(AlwaysOn)) when this processor is in use — a head
// sampler that drops spans first would leave nothing to keep. docs/tail-sampling.md describes
// what is and is not guaranteed across processes.
//
// Memory is bounded: at most `max_traces` traces are held (the oldest is decided early when a
// new one would exceed it), at most `max_spans_per_trace` spans per trace (the rest are dropped
// and counted), and `max_decisions` remembered decisions.
//
// Thread-safe. OnEnd never waits for an export: it hands kept spans to the downstream
// processor's OnEnd on the calling thread, so the downstream must itself be non-blocking
// (BatchSpanProcessor is; SimpleSpanProcessor is not). State is sharded by trace id so
// concurrent traces rarely share a lock. Expired traces are decided by an owned background
// thread (every `check_interval`, joined in Shutdown), and by ForceFlush and DecideExpired().

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "minion/common/clock.h"
#include "minion/common/env.h"
#include "minion/common/status.h"
#include "minion/observability/attributes.h"
#include "minion/sdk/span_processor.h"
#include "minion/trace/ids.h"

namespace minion::sampling {

// The attribute that makes the processor keep a span's trace (see ForceKeep).
inline constexpr std::string_view kTailKeepAttribute = observability::kAttrTailKeep;

struct TailSamplingOptions {
  // Fraction of traces without an error or high latency that are kept; clamped to [0, 1].
  double ratio = 0.1;
  // A local root at least this long keeps its trace. Zero or negative disables the rule.
  std::chrono::milliseconds latency_threshold{1000};
  // Traces held at once; beyond it the oldest held trace is decided early.
  std::size_t max_traces = 10000;
  // Spans held per trace; later ones are dropped (counted in spans_dropped_memory).
  std::size_t max_spans_per_trace = 1000;
  // How long after its first span a trace whose local root has not ended is decided anyway.
  std::chrono::milliseconds decision_wait{30000};
  // Decisions remembered for spans that end after their trace was decided (24 bytes each,
  // allocated up front).
  std::size_t max_decisions = 100000;
  // How often the background thread looks for expired traces (real time). Zero: no thread;
  // expired traces are then decided only by ForceFlush, DecideExpired and Shutdown.
  std::chrono::milliseconds check_interval{1000};
  // Not owned; default SystemClock(). Used for decision_wait (MonotonicNanos).
  Clock* clock = nullptr;

  // The defaults overridden by MINION_TAIL_SAMPLING_RATIO, MINION_TAIL_SAMPLING_LATENCY_MS,
  // MINION_TAIL_SAMPLING_MAX_TRACES and MINION_TAIL_SAMPLING_DECISION_WAIT_MS. Invalid values
  // are reported on stderr and ignored.
  static TailSamplingOptions FromEnv(const env::Lookup& lookup = env::Get);
};

enum class KeepReason { kError, kForced, kLatency, kRatio };

struct TailSamplingStats {
  std::uint64_t traces_kept_error = 0;
  std::uint64_t traces_kept_forced = 0;
  std::uint64_t traces_kept_latency = 0;
  std::uint64_t traces_kept_ratio = 0;
  std::uint64_t traces_dropped = 0;
  std::uint64_t traces_decided_on_timeout = 0;   // decision_wait passed before the root ended
  std::uint64_t traces_decided_on_capacity = 0;  // decided early because max_traces was reached
  std::uint64_t spans_received = 0;
  std::uint64_t spans_kept = 0;            // handed downstream (including late spans)
  std::uint64_t spans_dropped = 0;         // in dropped traces (including late spans)
  std::uint64_t spans_dropped_memory = 0;  // over max_spans_per_trace
  std::uint64_t spans_held = 0;            // currently waiting for a decision
  std::uint64_t traces_held = 0;           // currently waiting for a decision

  std::uint64_t traces_kept() const {
    return traces_kept_error + traces_kept_forced + traces_kept_latency + traces_kept_ratio;
  }
};

class TailSamplingProcessor final : public sdk::SpanProcessor {
 public:
  TailSamplingProcessor(std::unique_ptr<sdk::SpanProcessor> downstream,
                        TailSamplingOptions options = {});
  ~TailSamplingProcessor() override;

  void OnEnd(trace::SpanDataPtr span) noexcept override;
  // Decides expired traces, then flushes the downstream. Traces still waiting for their root
  // stay held (flushing them would decide them on partial information).
  Status ForceFlush(std::chrono::milliseconds timeout) noexcept override;
  // Decides every held trace on what has arrived, stops the thread, shuts the downstream down.
  Status Shutdown(std::chrono::milliseconds timeout) noexcept override;

  // Marks `trace_id` to be kept: a held trace is kept when decided; a trace not seen yet is
  // kept when it arrives; later spans of an already-dropped trace are kept from now on.
  // Returns false when the trace had already been dropped (those spans are gone).
  bool ForceKeep(const trace::TraceId& trace_id) noexcept;

  // Decides the traces whose decision_wait has passed. The background thread calls this; tests
  // with a SimulatedClock call it after advancing the clock. Returns how many it decided.
  std::size_t DecideExpired() noexcept;

  TailSamplingStats stats() const noexcept;
  const TailSamplingOptions& options() const noexcept { return options_; }

  // The deterministic ratio rule: sdk::TraceIdRatioKeeps, the head sampler's rule.
  static bool RatioKeeps(const trace::TraceId& trace_id, double ratio) noexcept;

 private:
  struct Shard;
  struct Counters;
  Shard& ShardFor(const trace::TraceId& id) noexcept;
  void Forward(std::vector<trace::SpanDataPtr>& spans) noexcept;
  void Run();

  const TailSamplingOptions options_;
  Clock* const clock_;
  std::unique_ptr<sdk::SpanProcessor> downstream_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<Counters> counters_;

  std::mutex thread_mu_;
  std::condition_variable thread_cv_;
  bool stop_ = false;  // guarded by thread_mu_
  std::atomic<bool> shut_down_{false};
  std::thread thread_;
};

}  // namespace minion::sampling
