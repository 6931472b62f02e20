#include "minion/trace/span_data.h"

#include <mutex>

namespace minion::trace {

std::string_view SpanKindName(SpanKind kind) {
  switch (kind) {
    case SpanKind::kInternal:
      return "INTERNAL";
    case SpanKind::kServer:
      return "SERVER";
    case SpanKind::kClient:
      return "CLIENT";
    case SpanKind::kProducer:
      return "PRODUCER";
    case SpanKind::kConsumer:
      return "CONSUMER";
  }
  return "INTERNAL";
}

std::string_view SpanStatusCodeName(SpanStatusCode code) {
  switch (code) {
    case SpanStatusCode::kUnset:
      return "UNSET";
    case SpanStatusCode::kOk:
      return "OK";
    case SpanStatusCode::kError:
      return "ERROR";
  }
  return "UNSET";
}

void SpanData::Reset() noexcept {
  trace_id = TraceId();
  span_id = SpanId();
  parent_span_id = SpanId();
  flags = TraceFlags();
  parent_is_remote = false;
  trace_state.reset();
  // `name` keeps its content: every span sets it at start, and keeping it lets the tracer skip
  // the copy when the recycled record had the same name.
  kind = SpanKind::kInternal;
  start_time = end_time = 0;
  attributes.Clear();
  events.clear();
  dropped_events = 0;
  links.clear();
  dropped_links = 0;
  status = SpanStatusCode::kUnset;
  status_description.clear();
  resource = nullptr;
  scope = nullptr;
  limits = nullptr;
  sink = nullptr;
}

namespace {

// The record pool: a per-thread free list in front of a central one. Application threads take
// records from their cache; the export thread returns them to its own cache, which spills to the
// central list in chunks, where application threads refill from. One mutex acquisition per
// kChunk records keeps it off the per-span path.
constexpr std::size_t kChunk = 64;
constexpr std::size_t kThreadCacheMax = 4 * kChunk;
constexpr std::size_t kCentralMax = 1 << 16;  // beyond this, records are freed

struct FreeList {
  SpanData* head = nullptr;
  std::size_t count = 0;
  void Push(SpanData* s) noexcept {
    s->pool_next_ = head;
    head = s;
    ++count;
  }
  SpanData* Pop() noexcept {
    SpanData* s = head;
    head = s->pool_next_;
    s->pool_next_ = nullptr;
    --count;
    return s;
  }
};

class CentralPool {
 public:
  static CentralPool& Get() {
    static CentralPool* pool = new CentralPool();  // leaked: threads return records at exit
    return *pool;
  }
  // Moves up to kChunk records into `to`.
  void Refill(FreeList& to) {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::size_t i = 0; i < kChunk && free_.count > 0; ++i) to.Push(free_.Pop());
  }
  // Takes `n` records from `from`; frees what does not fit.
  void Spill(FreeList& from, std::size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::size_t i = 0; i < n && from.count > 0; ++i) {
      SpanData* s = from.Pop();
      if (free_.count < kCentralMax)
        free_.Push(s);
      else
        delete s;
    }
  }

 private:
  std::mutex mu_;
  FreeList free_;  // guarded by mu_
};

struct ThreadCache {
  FreeList list;
  ~ThreadCache() { CentralPool::Get().Spill(list, list.count); }
};

ThreadCache& LocalCache() {
  thread_local ThreadCache cache;
  return cache;
}

}  // namespace

// Records are cleared when taken from the pool, not when returned: the returning thread is
// usually the export thread, and clearing there dirtied the record's cache lines on the other
// core, so the next span start paid to pull them back (measured: bench/trace_bench, 0-attribute
// span). Clearing on take writes lines the starting thread is about to write anyway.
void SpanDataRecycler::operator()(SpanData* span) const noexcept {
  ThreadCache& cache = LocalCache();
  cache.list.Push(span);
  if (cache.list.count > kThreadCacheMax) CentralPool::Get().Spill(cache.list, kChunk * 2);
}

SpanDataPtr AcquireSpanData() {
  ThreadCache& cache = LocalCache();
  if (cache.list.count == 0) CentralPool::Get().Refill(cache.list);
  if (cache.list.count == 0) return SpanDataPtr(new SpanData());
  SpanData* span = cache.list.Pop();
  span->Reset();
  return SpanDataPtr(span);
}

SpanDataPtr CloneSpanData(const SpanData& span) {
  SpanDataPtr copy = AcquireSpanData();
  *copy = span;
  copy->pool_next_ = nullptr;
  return copy;
}

}  // namespace minion::trace
