#include "minion/sampling/tail_sampling_processor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>

#include "minion/common/env.h"
#include "minion/sdk/sampler.h"

namespace minion::sampling {

using trace::SpanDataPtr;
using trace::TraceId;

TailSamplingOptions TailSamplingOptions::FromEnv(const env::Lookup& lookup) {
  TailSamplingOptions o;
  const double ratio = env::DoubleOr("MINION_TAIL_SAMPLING_RATIO", o.ratio, lookup);
  if (ratio < 0.0 || ratio > 1.0 || std::isnan(ratio)) {
    env::Warn("MINION_TAIL_SAMPLING_RATIO must be in [0, 1]; using " + std::to_string(o.ratio));
  } else {
    o.ratio = ratio;
  }
  o.latency_threshold = std::chrono::milliseconds(
      env::IntOr("MINION_TAIL_SAMPLING_LATENCY_MS", o.latency_threshold.count(), lookup));
  const std::int64_t max_traces = env::IntOr("MINION_TAIL_SAMPLING_MAX_TRACES",
                                             static_cast<std::int64_t>(o.max_traces), lookup);
  if (max_traces <= 0) {
    env::Warn("MINION_TAIL_SAMPLING_MAX_TRACES must be positive; using " +
              std::to_string(o.max_traces));
  } else {
    o.max_traces = static_cast<std::size_t>(max_traces);
  }
  o.decision_wait = std::chrono::milliseconds(
      env::IntOr("MINION_TAIL_SAMPLING_DECISION_WAIT_MS", o.decision_wait.count(), lookup));
  return o;
}

// Counters are atomics so stats() needs no lock; relaxed order suffices because each is an
// independent tally that no other memory access depends on.
struct TailSamplingProcessor::Counters {
  std::atomic<std::uint64_t> kept_error{0}, kept_forced{0}, kept_latency{0}, kept_ratio{0};
  std::atomic<std::uint64_t> dropped{0}, on_timeout{0}, on_capacity{0};
  std::atomic<std::uint64_t> spans_received{0}, spans_kept{0}, spans_dropped{0};
  std::atomic<std::uint64_t> spans_dropped_memory{0}, spans_held{0}, traces_held{0};

  static void Add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
    c.fetch_add(n, std::memory_order_relaxed);
  }
};

namespace {

struct Held {
  std::vector<SpanDataPtr> spans;
  std::uint64_t first_seen = 0;        // clock MonotonicNanos when the first span arrived
  std::list<TraceId>::iterator order;  // position in Shard::order
  bool error = false;
  bool forced = false;
  bool slow_root = false;
};

enum class DecideCause { kRoot, kTimeout, kCapacity, kShutdown };

}  // namespace

// Remembered decisions: a fixed-size, 4-way set-associative cache with LRU replacement within
// each set. Chosen over a node-based LRU (list + unordered_map) because the benchmark showed
// that one dominating the per-span cost: a large node-based map costs an allocation and
// several cache misses per trace, this costs one probe into a flat array and never allocates.
// Not thread-safe (guarded by its shard's mutex).
namespace {
class DecisionCache {
 public:
  static constexpr std::size_t kWays = 4;

  explicit DecisionCache(std::size_t capacity)
      : sets_(std::max<std::size_t>(1, (capacity + kWays - 1) / kWays)), entries_(sets_ * kWays) {}

  // The remembered decision, refreshed as most recently used; nullptr if none.
  bool* Find(const TraceId& id) {
    Entry* set = Set(id);
    for (std::size_t i = 0; i < kWays; ++i) {
      if (set[i].used && set[i].id == id) {
        set[i].stamp = ++tick_;
        return &set[i].keep;
      }
    }
    return nullptr;
  }

  void Put(const TraceId& id, bool keep) {
    Entry* set = Set(id);
    Entry* victim = &set[0];
    for (std::size_t i = 0; i < kWays; ++i) {
      Entry& e = set[i];
      if (e.used && e.id == id) {
        victim = &e;
        break;
      }
      if (!e.used) {
        if (victim->used) victim = &e;
      } else if (victim->used && e.stamp < victim->stamp) {
        victim = &e;
      }
    }
    *victim = Entry{id, ++tick_, keep, true};
  }

 private:
  struct Entry {
    TraceId id;
    std::uint32_t stamp = 0;  // recency; wraps after 2^32 decisions, which only blurs LRU order
    bool keep = false;
    bool used = false;
  };

  Entry* Set(const TraceId& id) {
    // Mix both halves: the shard already used the low half's low bits, and ids converted from
    // 64-bit systems have an all-zero high half.
    std::uint64_t lo;
    std::uint64_t hi;
    std::memcpy(&hi, id.data(), 8);
    std::memcpy(&lo, id.data() + 8, 8);
    const std::uint64_t h = (lo ^ (hi * 0x9E3779B97F4A7C15ULL)) * 0xBF58476D1CE4E5B9ULL;
    return &entries_[((h >> 32) % sets_) * kWays];
  }

  std::size_t sets_;
  std::vector<Entry> entries_;
  std::uint32_t tick_ = 0;
};
}  // namespace

// One lock's worth of state. Held traces sit in `held` and, oldest first, in `order` (arrival
// order equals first_seen order, so the expiry scan stops at the first unexpired trace).
struct TailSamplingProcessor::Shard {
  explicit Shard(std::size_t max_decisions) : decisions(max_decisions) {}

  std::mutex mu;
  std::unordered_map<TraceId, Held, trace::IdHash> held;
  std::list<TraceId> order;
  DecisionCache decisions;
  std::size_t max_traces = 1;

  bool* FindDecision(const TraceId& id) { return decisions.Find(id); }
  void Remember(const TraceId& id, bool keep) { decisions.Put(id, keep); }
};

bool TailSamplingProcessor::RatioKeeps(const TraceId& trace_id, double ratio) noexcept {
  return sdk::TraceIdRatioKeeps(trace_id, ratio);
}

TailSamplingProcessor::TailSamplingProcessor(std::unique_ptr<sdk::SpanProcessor> downstream,
                                             TailSamplingOptions options)
    : options_([&] {
        options.ratio = std::isnan(options.ratio) ? 0.0 : std::clamp(options.ratio, 0.0, 1.0);
        options.max_traces = std::max<std::size_t>(1, options.max_traces);
        options.max_spans_per_trace = std::max<std::size_t>(1, options.max_spans_per_trace);
        options.max_decisions = std::max<std::size_t>(1, options.max_decisions);
        return options;
      }()),
      clock_(options_.clock != nullptr ? options_.clock : &SystemClock()),
      downstream_(std::move(downstream)),
      counters_(std::make_unique<Counters>()) {
  // Up to 16 shards, but never more than max_traces, so the per-shard caps add up exactly to
  // max_traces (the bound a user configured holds for the whole processor).
  const std::size_t n = std::min<std::size_t>(16, options_.max_traces);
  for (std::size_t i = 0; i < n; ++i) {
    auto shard = std::make_unique<Shard>(std::max<std::size_t>(1, options_.max_decisions / n));
    shard->max_traces = options_.max_traces / n + (i < options_.max_traces % n ? 1 : 0);
    shards_.push_back(std::move(shard));
  }
  if (options_.check_interval.count() > 0) thread_ = std::thread([this] { Run(); });
}

TailSamplingProcessor::~TailSamplingProcessor() { (void)Shutdown(std::chrono::seconds(5)); }

TailSamplingProcessor::Shard& TailSamplingProcessor::ShardFor(const TraceId& id) noexcept {
  return *shards_[trace::IdHash{}(id) % shards_.size()];
}

namespace {

// Decides one held trace, moving its spans to `out` when kept. Caller holds the shard lock.
template <typename ShardT, typename CountersT>
void DecideLocked(ShardT& shard, typename decltype(ShardT::held)::iterator it, DecideCause cause,
                  double ratio, CountersT& c, std::vector<SpanDataPtr>& out) {
  const TraceId id = it->first;
  Held& h = it->second;
  bool keep = true;
  if (h.error) {
    CountersT::Add(c.kept_error);
  } else if (h.forced) {
    CountersT::Add(c.kept_forced);
  } else if (h.slow_root) {
    CountersT::Add(c.kept_latency);
  } else if (TailSamplingProcessor::RatioKeeps(id, ratio)) {
    CountersT::Add(c.kept_ratio);
  } else {
    keep = false;
    CountersT::Add(c.dropped);
    CountersT::Add(c.spans_dropped, h.spans.size());
  }
  if (cause == DecideCause::kTimeout) CountersT::Add(c.on_timeout);
  if (cause == DecideCause::kCapacity) CountersT::Add(c.on_capacity);
  c.spans_held.fetch_sub(h.spans.size(), std::memory_order_relaxed);
  c.traces_held.fetch_sub(1, std::memory_order_relaxed);
  if (keep) {
    for (auto& s : h.spans) out.push_back(std::move(s));
  }
  shard.order.erase(h.order);
  shard.held.erase(it);
  shard.Remember(id, keep);
}

}  // namespace

void TailSamplingProcessor::OnEnd(SpanDataPtr span) noexcept {
  if (span == nullptr) return;
  Counters& c = *counters_;
  Counters::Add(c.spans_received);
  if (shut_down_.load(std::memory_order_acquire)) {
    Counters::Add(c.spans_dropped);
    return;
  }
  const bool is_root = !span->HasParent() || span->parent_is_remote;
  const bool error = span->status == trace::SpanStatusCode::kError;
  bool forced = false;
  if (const auto* v = span->FindAttribute(kTailKeepAttribute)) {
    const bool* b = std::get_if<bool>(v);
    forced = b != nullptr && *b;
  }
  const TraceId id = span->trace_id;
  Shard& shard = ShardFor(id);

  // Spans to hand downstream, collected under the lock and forwarded after it: the downstream
  // must never run under our lock (it may be slow, and it may call back into user code).
  std::vector<SpanDataPtr> out;
  try {
    std::lock_guard lock(shard.mu);
    // Held traces first: they are few and hot in cache, and most spans belong to one. The
    // decision LRU is large (a cache miss per probe), so only a trace's first span here — or a
    // late span — looks there. A trace id is never both held and decided.
    auto it = shard.held.find(id);
    if (it == shard.held.end()) {
      if (bool* decision = shard.FindDecision(id)) {
        if (*decision) {
          out.push_back(std::move(span));
        } else {
          Counters::Add(c.spans_dropped);
        }
        span.reset();
      } else {
        it = shard.held.try_emplace(id).first;
        it->second.first_seen = clock_->MonotonicNanos();
        // Most local traces are a handful of spans: one allocation instead of 1 -> 2 -> 4 -> 8.
        it->second.spans.reserve(std::min<std::size_t>(8, options_.max_spans_per_trace + 1));
        it->second.order = shard.order.insert(shard.order.end(), id);
        Counters::Add(c.traces_held);
        if (shard.held.size() > shard.max_traces) {
          // Over the cap: decide the oldest held trace now, on what it has.
          DecideLocked(shard, shard.held.find(shard.order.front()), DecideCause::kCapacity,
                       options_.ratio, c, out);
        }
      }
    }
    if (span != nullptr) {
      Held& h = it->second;
      h.error |= error;
      h.forced |= forced;
      if (is_root && options_.latency_threshold.count() > 0) {
        const auto threshold_ns = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(options_.latency_threshold)
                .count());
        h.slow_root =
            span->end_time >= span->start_time && span->end_time - span->start_time >= threshold_ns;
      }
      // The local root is always held, even past the cap: the decision is about its trace.
      if (h.spans.size() < options_.max_spans_per_trace || is_root) {
        h.spans.push_back(std::move(span));
        Counters::Add(c.spans_held);
      } else {
        Counters::Add(c.spans_dropped_memory);
      }
      if (is_root) DecideLocked(shard, it, DecideCause::kRoot, options_.ratio, c, out);
    }
  } catch (const std::bad_alloc&) {
    // Out of memory while holding: the span (if still ours) is freed on return.
    Counters::Add(c.spans_dropped_memory);
  }
  Forward(out);
}

void TailSamplingProcessor::Forward(std::vector<SpanDataPtr>& spans) noexcept {
  if (spans.empty()) return;
  Counters::Add(counters_->spans_kept, spans.size());
  for (auto& s : spans) downstream_->OnEnd(std::move(s));
  spans.clear();
}

std::size_t TailSamplingProcessor::DecideExpired() noexcept {
  const std::uint64_t now = clock_->MonotonicNanos();
  const auto wait_ns = static_cast<std::uint64_t>(std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::nanoseconds>(options_.decision_wait).count()));
  std::size_t decided = 0;
  std::vector<SpanDataPtr> out;
  for (auto& shard_ptr : shards_) {
    Shard& shard = *shard_ptr;
    {
      std::lock_guard lock(shard.mu);
      while (!shard.order.empty()) {
        auto it = shard.held.find(shard.order.front());
        if (it->second.first_seen + wait_ns > now) break;
        DecideLocked(shard, it, DecideCause::kTimeout, options_.ratio, *counters_, out);
        ++decided;
      }
    }
    Forward(out);
  }
  return decided;
}

bool TailSamplingProcessor::ForceKeep(const TraceId& trace_id) noexcept {
  Shard& shard = ShardFor(trace_id);
  std::lock_guard lock(shard.mu);
  if (auto it = shard.held.find(trace_id); it != shard.held.end()) {
    it->second.forced = true;
    return true;
  }
  if (bool* decision = shard.FindDecision(trace_id)) {
    const bool was_kept = *decision;
    *decision = true;  // spans still to come are kept
    return was_kept;
  }
  // Not seen yet: remember "keep", so its spans pass straight through as they end.
  Counters::Add(counters_->kept_forced);
  shard.Remember(trace_id, true);
  return true;
}

Status TailSamplingProcessor::ForceFlush(std::chrono::milliseconds timeout) noexcept {
  DecideExpired();
  return downstream_->ForceFlush(timeout);
}

Status TailSamplingProcessor::Shutdown(std::chrono::milliseconds timeout) noexcept {
  if (shut_down_.exchange(true, std::memory_order_acq_rel)) return Status::Ok();
  {
    std::lock_guard lock(thread_mu_);
    stop_ = true;
  }
  thread_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<SpanDataPtr> out;
  for (auto& shard_ptr : shards_) {
    Shard& shard = *shard_ptr;
    {
      std::lock_guard lock(shard.mu);
      while (!shard.order.empty()) {
        DecideLocked(shard, shard.held.find(shard.order.front()), DecideCause::kShutdown,
                     options_.ratio, *counters_, out);
      }
    }
    Forward(out);
  }
  return downstream_->Shutdown(timeout);
}

void TailSamplingProcessor::Run() {
  std::unique_lock lock(thread_mu_);
  while (!stop_) {
    if (thread_cv_.wait_for(lock, options_.check_interval, [this] { return stop_; })) break;
    lock.unlock();
    DecideExpired();
    lock.lock();
  }
}

TailSamplingStats TailSamplingProcessor::stats() const noexcept {
  const Counters& c = *counters_;
  auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  TailSamplingStats s;
  s.traces_kept_error = get(c.kept_error);
  s.traces_kept_forced = get(c.kept_forced);
  s.traces_kept_latency = get(c.kept_latency);
  s.traces_kept_ratio = get(c.kept_ratio);
  s.traces_dropped = get(c.dropped);
  s.traces_decided_on_timeout = get(c.on_timeout);
  s.traces_decided_on_capacity = get(c.on_capacity);
  s.spans_received = get(c.spans_received);
  s.spans_kept = get(c.spans_kept);
  s.spans_dropped = get(c.spans_dropped);
  s.spans_dropped_memory = get(c.spans_dropped_memory);
  s.spans_held = get(c.spans_held);
  s.traces_held = get(c.traces_held);
  return s;
}

}  // namespace minion::sampling
