#pragma once
// SpanData: the record of one recording span, written through a Span handle and handed to
// span processors and exporters when the span ends.
//
// Records come from a process-wide free-list pool and go back to it when the last owner
// (processor or exporter) drops its SpanDataPtr; strings and attribute slots keep their
// capacity across uses, so steady-state span creation does not allocate. Deliberately a plain
// struct in the API layer (unlike opentelemetry-cpp's virtual Recordable) so attribute writes
// are inline, with no virtual call per attribute.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "minion/common/clock.h"
#include "minion/trace/attribute.h"
#include "minion/trace/span_context.h"

namespace minion::trace {

// Same numbering as OTLP's Span.SpanKind (0 is UNSPECIFIED there).
enum class SpanKind : std::uint8_t {
  kInternal = 1,
  kServer = 2,
  kClient = 3,
  kProducer = 4,
  kConsumer = 5,
};
std::string_view SpanKindName(SpanKind kind);  // "INTERNAL", "SERVER", ...

// Same numbering as OTLP's Status.StatusCode.
enum class SpanStatusCode : std::uint8_t { kUnset = 0, kOk = 1, kError = 2 };
std::string_view SpanStatusCodeName(SpanStatusCode code);  // "UNSET", "OK", "ERROR"

// The instrumentation scope a Tracer was obtained for (library name and version).
struct InstrumentationScope {
  std::string name;
  std::string version;
  std::string schema_url;
  AttributeList attributes;
};

// The entity producing telemetry: service.name, telemetry.sdk.*, host, ...
struct Resource {
  AttributeList attributes;
  std::string schema_url;
};

// Limits from the specification; defaults are the specification's (128, no length limit).
struct SpanLimits {
  std::uint32_t attribute_count = 128;
  std::size_t attribute_value_length = std::numeric_limits<std::size_t>::max();
  std::uint32_t event_count = 128;
  std::uint32_t link_count = 128;
  std::uint32_t attributes_per_event = 128;
  std::uint32_t attributes_per_link = 128;
};

struct SpanEvent {
  std::string name;
  UnixNanos time = 0;
  AttributeList attributes;
};

struct SpanLink {
  SpanContext context;
  AttributeList attributes;
};

class SpanData;

// Receives a span's record when it ends (implemented by the SDK's tracer).
class SpanEndSink {
 public:
  virtual ~SpanEndSink() = default;
  virtual void OnSpanEnd(SpanData* span, UnixNanos end_time) noexcept = 0;
  // The provider's (injected) clock, for event timestamps.
  virtual UnixNanos Now() noexcept = 0;
};

class SpanData {
 public:
  SpanData() = default;
  SpanData(const SpanData&) = default;  // the in-memory exporter keeps copies
  SpanData& operator=(const SpanData&) = default;

  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;  // all-zero for a root span
  TraceFlags flags;
  bool parent_is_remote = false;
  std::shared_ptr<const TraceState> trace_state;
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  UnixNanos start_time = 0;
  UnixNanos end_time = 0;
  AttributeList attributes;
  std::vector<SpanEvent> events;
  std::uint32_t dropped_events = 0;
  std::vector<SpanLink> links;
  std::uint32_t dropped_links = 0;
  SpanStatusCode status = SpanStatusCode::kUnset;
  std::string status_description;
  const Resource* resource = nullptr;           // owned by the TracerProvider
  const InstrumentationScope* scope = nullptr;  // owned by the TracerProvider
  const SpanLimits* limits = nullptr;           // owned by the TracerProvider; null = defaults
  SpanEndSink* sink = nullptr;                  // where End() delivers the record

  SpanContext context() const { return SpanContext(trace_id, span_id, flags, false, trace_state); }
  bool HasParent() const noexcept { return parent_span_id.IsValid(); }
  const AttributeValue* FindAttribute(std::string_view key) const { return attributes.Find(key); }

  // Clears per-span state but keeps capacity; called when the record is taken from the pool.
  void Reset() noexcept;

  // Intrusive link used only by the pool.
  SpanData* pool_next_ = nullptr;
};

// Returns a record to the pool (or frees it when the pool is full).
struct SpanDataRecycler {
  void operator()(SpanData* span) const noexcept;
};
using SpanDataPtr = std::unique_ptr<SpanData, SpanDataRecycler>;

// A cleared record from the pool. Thread-safe; lock-free on the fast path (thread-local cache).
SpanDataPtr AcquireSpanData();
// Deep copy into a fresh pooled record (used when two processors each need their own).
SpanDataPtr CloneSpanData(const SpanData& span);

}  // namespace minion::trace
