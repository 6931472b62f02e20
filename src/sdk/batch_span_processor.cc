#include "minion/sdk/batch_span_processor.h"

#include <algorithm>
#include <string>
#include <vector>

#include "minion/common/env.h"

namespace minion::sdk {

BatchSpanProcessorOptions BatchSpanProcessorOptions::FromEnv(const env::Lookup& lookup) {
  BatchSpanProcessorOptions o;
  o.schedule_delay = std::chrono::milliseconds(
      env::IntOr("OTEL_BSP_SCHEDULE_DELAY", o.schedule_delay.count(), lookup));
  o.export_timeout = std::chrono::milliseconds(
      env::IntOr("OTEL_BSP_EXPORT_TIMEOUT", o.export_timeout.count(), lookup));
  o.max_queue_size = static_cast<std::size_t>(
      env::IntOr("OTEL_BSP_MAX_QUEUE_SIZE", static_cast<std::int64_t>(o.max_queue_size), lookup));
  o.max_export_batch_size = static_cast<std::size_t>(
      env::IntOr("OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                 static_cast<std::int64_t>(o.max_export_batch_size), lookup));
  if (o.max_queue_size == 0) {
    env::Warn("OTEL_BSP_MAX_QUEUE_SIZE=\"0\": must be positive; using 2048");
    o.max_queue_size = 2048;
  }
  if (o.max_queue_size > kMaxBatchQueueSize) {
    env::Warn("OTEL_BSP_MAX_QUEUE_SIZE=\"" + std::to_string(o.max_queue_size) +
              "\": over minion's limit of " + std::to_string(kMaxBatchQueueSize) +
              " spans (memory for telemetry is bounded); using " +
              std::to_string(kMaxBatchQueueSize));
    o.max_queue_size = kMaxBatchQueueSize;
  }
  if (o.max_export_batch_size == 0 || o.max_export_batch_size > o.max_queue_size) {
    // The specification: the batch size must be <= the queue size.
    env::Warn("OTEL_BSP_MAX_EXPORT_BATCH_SIZE must be in [1, OTEL_BSP_MAX_QUEUE_SIZE]; using " +
              std::to_string(std::min<std::size_t>(512, o.max_queue_size)));
    o.max_export_batch_size = std::min<std::size_t>(512, o.max_queue_size);
  }
  return o;
}

// Bounded multi-producer queue of span records (Vyukov's array queue: one CAS per push, a
// sequence number per cell tells producers and the consumer whose turn a cell is). The
// capacity is the queue size rounded up to a power of two; `limit` enforces the exact size.
class BatchSpanProcessor::Ring {
 public:
  explicit Ring(std::size_t limit) : limit_(limit) {
    std::size_t cap = 1;
    while (cap < limit) cap <<= 1;
    mask_ = cap - 1;
    cells_ = std::make_unique<Cell[]>(cap);
    for (std::size_t i = 0; i < cap; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }
  ~Ring() {
    trace::SpanData* s;
    while ((s = Pop()) != nullptr) trace::SpanDataRecycler()(s);
  }

  bool Push(trace::SpanData* span) noexcept {
    std::size_t pos = enqueue_.load(std::memory_order_relaxed);
    for (;;) {
      // Exact bound: refuse when `limit` records are waiting, even if the ring has room.
      // `pos` may be stale (another producer moved on and the consumer already published a
      // later position), so the distance is signed: a negative one means "not full, retry".
      // An unsigned subtraction here wrapped around and dropped a span from a half-empty
      // queue (seen once in CI: 1 of 200,000 with max_queue_size=200,000).
      const auto waiting =
          static_cast<std::ptrdiff_t>(pos - consumed_.load(std::memory_order_acquire));
      if (waiting >= static_cast<std::ptrdiff_t>(limit_)) return false;
      Cell& cell = cells_[pos & mask_];
      const std::size_t seq = cell.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
      if (diff == 0) {
        if (enqueue_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          cell.span = span;
          cell.seq.store(pos + 1, std::memory_order_release);  // publishes `span` to the consumer
          return true;
        }
      } else if (diff < 0) {
        return false;  // full
      } else {
        pos = enqueue_.load(std::memory_order_relaxed);
      }
    }
  }

  // Single consumer (the export thread).
  trace::SpanData* Pop() noexcept {
    const std::size_t pos = dequeue_.load(std::memory_order_relaxed);
    Cell& cell = cells_[pos & mask_];
    const std::size_t seq = cell.seq.load(std::memory_order_acquire);
    if (static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos + 1) < 0) return nullptr;
    trace::SpanData* span = cell.span;
    cell.seq.store(pos + mask_ + 1, std::memory_order_release);
    dequeue_.store(pos + 1, std::memory_order_relaxed);
    return span;
  }

  // Tells producers how far the consumer got. Done once per batch rather than per Pop, so the
  // cache line producers read for the bound check changes rarely; until then the bound is
  // merely conservative.
  void PublishConsumed() noexcept {
    consumed_.store(dequeue_.load(std::memory_order_relaxed), std::memory_order_release);
  }

  // Every span ever accepted (the enqueue position only moves forward).
  std::uint64_t TotalPushed() const noexcept { return enqueue_.load(std::memory_order_relaxed); }

  std::size_t SizeApprox() const noexcept {
    return enqueue_.load(std::memory_order_relaxed) - consumed_.load(std::memory_order_relaxed);
  }

 private:
  struct Cell {
    std::atomic<std::size_t> seq;
    trace::SpanData* span = nullptr;
  };
  std::size_t limit_;
  std::size_t mask_;
  std::unique_ptr<Cell[]> cells_;
  alignas(64) std::atomic<std::size_t> enqueue_{0};
  alignas(64) std::atomic<std::size_t> dequeue_{0};   // written by the consumer only
  alignas(64) std::atomic<std::size_t> consumed_{0};  // dequeue_ as last published
};

// The queue: a few Rings ("shards") whose limits add up to max_queue_size exactly. A producer
// thread pushes into its home shard (threads are spread round robin), so two threads ending
// spans at once do not fight over one enqueue counter and its cache line; that contention
// nearly doubled the CPU cost of a span with two threads (bench/trace_bench, FiveAttributes
// threads:2). When the home shard is full the others are tried, so one busy thread can still
// fill the whole queue, and a span is dropped only when every shard is full.
class BatchSpanProcessor::Queue {
 public:
  explicit Queue(std::size_t max_queue_size) {
    // A power of two, so that picking a shard is a mask rather than a division.
    std::size_t shards = 1;
    while (shards * 2 <= std::min<std::size_t>(kMaxShards, max_queue_size)) shards *= 2;
    mask_ = shards - 1;
    for (std::size_t i = 0; i < shards; ++i) {
      const std::size_t limit = max_queue_size / shards + (i < max_queue_size % shards ? 1 : 0);
      shards_.push_back(std::make_unique<Ring>(limit));
    }
  }

  std::size_t shard_count() const noexcept { return shards_.size(); }

  // Index of the calling thread's home shard.
  std::size_t Home() const noexcept {
    if (__builtin_expect(thread_index_ == 0, 0))
      thread_index_ = next_thread_.fetch_add(1, std::memory_order_relaxed);
    return thread_index_ & mask_;
  }

  // Returns the shard that took the span, or -1 when all are full.
  int Push(std::size_t home, trace::SpanData* span) noexcept {
    for (std::size_t k = 0; k <= mask_; ++k) {
      const std::size_t i = (home + k) & mask_;
      if (shards_[i]->Push(span)) return static_cast<int>(i);
    }
    return -1;
  }

  std::size_t ShardSize(std::size_t i) const noexcept { return shards_[i]->SizeApprox(); }

  std::size_t SizeApprox() const noexcept {
    std::size_t total = 0;
    for (const auto& r : shards_) total += r->SizeApprox();
    return total;
  }

  std::uint64_t TotalPushed() const noexcept {
    std::uint64_t total = 0;
    for (const auto& r : shards_) total += r->TotalPushed();
    return total;
  }

  // Single consumer: fills `batch` up to `max` records, visiting the shards round robin from
  // where the last call stopped so that no shard is starved.
  void PopInto(std::vector<trace::SpanDataPtr>& batch, std::size_t max) noexcept {
    const std::size_t n = shards_.size();
    for (std::size_t visited = 0; visited < n && batch.size() < max; ++visited) {
      Ring& ring = *shards_[next_pop_];
      trace::SpanData* s;
      while (batch.size() < max && (s = ring.Pop()) != nullptr) batch.emplace_back(s);
      ring.PublishConsumed();
      if (batch.size() < max) next_pop_ = (next_pop_ + 1) & mask_;
    }
  }

 private:
  static constexpr std::size_t kMaxShards = 4;
  // 1, 2, ... per thread in order of first use; 0 means not yet assigned. A trivially
  // constructible thread_local, so reading it needs no initialisation guard.
  static inline std::atomic<unsigned> next_thread_{1};
  static constinit inline thread_local unsigned thread_index_ = 0;
  std::size_t mask_ = 0;
  std::vector<std::unique_ptr<Ring>> shards_;
  std::size_t next_pop_ = 0;  // consumer only
};

BatchSpanProcessor::BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                                       BatchSpanProcessorOptions options)
    : options_([&] {
        if (options.max_queue_size == 0) options.max_queue_size = 1;
        // Set in code rather than from the environment: the same bound, without a warning.
        options.max_queue_size = std::min(options.max_queue_size, kMaxBatchQueueSize);
        if (options.max_export_batch_size == 0) options.max_export_batch_size = 1;
        if (options.max_export_batch_size > options.max_queue_size)
          options.max_export_batch_size = options.max_queue_size;
        return options;
      }()),
      exporter_(std::move(exporter)),
      queue_(std::make_unique<Queue>(options_.max_queue_size)),
      shard_wake_threshold_(std::max<std::size_t>(
          1, (options_.max_export_batch_size + queue_->shard_count() - 1) / queue_->shard_count())),
      wake_check_mask_(shard_wake_threshold_ >= 64 ? 31 : 0),
      thread_([this] { Run(); }) {}

BatchSpanProcessor::~BatchSpanProcessor() { (void)Shutdown(options_.export_timeout); }

void BatchSpanProcessor::OnEnd(trace::SpanDataPtr span) noexcept {
  if (!span->flags.IsSampled()) return;  // record-only spans are not exported
  int shard = -1;
  if (shut_down_.load(std::memory_order_relaxed) ||
      (shard = queue_->Push(queue_->Home(), span.get())) < 0) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;  // `span` returns to the pool
  }
  span.release();  // the queue owns it now
  // Wake the exporter once per full batch; the flag keeps this to one notification per batch.
  // The other shards' counters are read only once this shard holds its share of a batch (and
  // no wake-up is pending), so the common case touches no other thread's cache lines.
  // With large batches the total is looked at only every 32nd span of a shard: a wake-up at
  // most 31 spans late per shard costs nothing, summing the shards on every span did (~15%).
  const std::size_t shard_size = queue_->ShardSize(static_cast<std::size_t>(shard));
  if (shard_size >= shard_wake_threshold_ && (shard_size & wake_check_mask_) == 0 &&
      !wake_pending_.load(std::memory_order_relaxed) &&
      queue_->SizeApprox() >= options_.max_export_batch_size &&
      !wake_pending_.exchange(true, std::memory_order_acq_rel)) {
    { std::lock_guard<std::mutex> lock(mu_); }  // orders the flag with the waiter's predicate check
    wake_cv_.notify_one();
  }
}

std::size_t BatchSpanProcessor::DrainAndExport(std::size_t max_spans) {
  std::vector<trace::SpanDataPtr> batch;
  batch.reserve(options_.max_export_batch_size);
  std::size_t total = 0;
  while (total < max_spans) {
    batch.clear();
    queue_->PopInto(batch, options_.max_export_batch_size);
    if (batch.empty()) break;
    total += batch.size();
    batches_.fetch_add(1, std::memory_order_relaxed);
    const ExportResult r = exporter_->Export(batch, options_.export_timeout);
    (r == ExportResult::kSuccess ? exported_ : export_failures_)
        .fetch_add(batch.size(), std::memory_order_relaxed);
  }
  return total;
}

void BatchSpanProcessor::Run() {
  using Clock = std::chrono::steady_clock;
  auto last_drop_report = Clock::now() - std::chrono::hours(1);
  for (;;) {
    bool stopping;
    std::uint64_t flush_target;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_cv_.wait_for(lock, options_.schedule_delay, [&] {
        return stop_ || flush_requested_ != flush_completed_ ||
               wake_pending_.load(std::memory_order_acquire);
      });
      stopping = stop_;
      flush_target = flush_requested_;
    }
    wake_pending_.store(false, std::memory_order_release);
    // Everything queued now goes out, a batch at a time; bounded so that a flood of new spans
    // cannot keep a flush waiting forever.
    DrainAndExport(queue_->SizeApprox() + options_.max_export_batch_size);

    const std::uint64_t dropped = dropped_.load(std::memory_order_relaxed);
    if (dropped != dropped_reported_ &&
        (stopping || Clock::now() - last_drop_report > std::chrono::seconds(10))) {
      env::Warn(
          "BatchSpanProcessor dropped " + std::to_string(dropped - dropped_reported_) +
          " spans because its queue (max_queue_size=" + std::to_string(options_.max_queue_size) +
          ") was full; " + std::to_string(dropped) + " dropped in total");
      dropped_reported_ = dropped;
      last_drop_report = Clock::now();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (flush_target != flush_completed_) flush_completed_ = flush_target;
    }
    flush_cv_.notify_all();
    if (stopping) return;
  }
}

Status BatchSpanProcessor::ForceFlush(std::chrono::milliseconds timeout) noexcept {
  std::unique_lock<std::mutex> lock(mu_);
  if (stop_) return Status::Ok();
  const std::uint64_t target = ++flush_requested_;
  wake_cv_.notify_one();
  if (!flush_cv_.wait_for(lock, timeout, [&] { return flush_completed_ >= target || stop_; }))
    return DeadlineExceededError("BatchSpanProcessor::ForceFlush did not finish within " +
                                 std::to_string(timeout.count()) + " ms");
  lock.unlock();
  return exporter_->ForceFlush(timeout);
}

Status BatchSpanProcessor::Shutdown(std::chrono::milliseconds timeout) noexcept {
  if (shut_down_.exchange(true)) return Status::Ok();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Status flushed = ForceFlush(timeout);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_cv_.notify_one();
  flush_cv_.notify_all();
  auto left = [&] {
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()),
                    std::chrono::milliseconds(0));
  };
  Status exporter_status;
  if (flushed.ok()) {
    if (thread_.joinable()) thread_.join();
    exporter_status = exporter_->Shutdown(left());
  } else {
    // The flush timed out, so the exporter is stuck in Export: shutting it down first lets the
    // export thread return, which keeps the join bounded.
    exporter_status = exporter_->Shutdown(left());
    if (thread_.joinable()) thread_.join();
  }
  if (!flushed.ok()) return flushed;
  return exporter_status;
}

BatchSpanProcessorStats BatchSpanProcessor::stats() const noexcept {
  BatchSpanProcessorStats s;
  s.enqueued = queue_->TotalPushed();
  s.dropped = dropped_.load(std::memory_order_relaxed);
  s.exported = exported_.load(std::memory_order_relaxed);
  s.export_failures = export_failures_.load(std::memory_order_relaxed);
  s.batches = batches_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace minion::sdk
