#include "exporters/jaeger/jaeger_thrift.h"

#include <nlohmann/json.hpp>

#include <limits>
#include <type_traits>
#include <variant>

#include "exporters/jaeger/thrift_binary_writer.h"

namespace minion::exporters::jaeger {
namespace {

// Field ids from jaeger-idl thrift/jaeger.thrift.
namespace tag_field {
constexpr std::int16_t kKey = 1, kVType = 2, kVStr = 3, kVDouble = 4, kVBool = 5, kVLong = 6;
}
namespace log_field {
constexpr std::int16_t kTimestamp = 1, kFields = 2;
}
namespace ref_field {
constexpr std::int16_t kRefType = 1, kTraceIdLow = 2, kTraceIdHigh = 3, kSpanId = 4;
}
namespace span_field {
constexpr std::int16_t kTraceIdLow = 1, kTraceIdHigh = 2, kSpanId = 3, kParentSpanId = 4,
                       kOperationName = 5, kReferences = 6, kFlags = 7, kStartTime = 8,
                       kDuration = 9, kTags = 10, kLogs = 11;
}
namespace process_field {
constexpr std::int16_t kServiceName = 1, kTags = 2;
}
namespace batch_field {
constexpr std::int16_t kProcess = 1, kSpans = 2;
}

constexpr std::string_view kServiceNameKey = "service.name";

std::int32_t ClampCount(std::size_t n) {
  return static_cast<std::int32_t>(
      std::min<std::size_t>(n, std::numeric_limits<std::int32_t>::max()));
}

// Writes Tag structs into an already-open list and counts them, so the list size can be
// patched in afterwards (saves building a temporary vector of tags per span).
class TagListWriter {
 public:
  explicit TagListWriter(ThriftBinaryWriter& w)
      : w_(w), size_offset_(w.ListBeginDeferred(ThriftType::kStruct)) {}
  void Finish() { w_.ListEnd(size_offset_, count_); }

  void String(std::string_view key, std::string_view v) {
    Begin(key, TagType::kString);
    w_.StringField(tag_field::kVStr, v);
    w_.StructEnd();
  }
  void Bool(std::string_view key, bool v) {
    Begin(key, TagType::kBool);
    w_.BoolField(tag_field::kVBool, v);
    w_.StructEnd();
  }
  void Long(std::string_view key, std::int64_t v) {
    Begin(key, TagType::kLong);
    w_.I64Field(tag_field::kVLong, v);
    w_.StructEnd();
  }
  void Double(std::string_view key, double v) {
    Begin(key, TagType::kDouble);
    w_.DoubleField(tag_field::kVDouble, v);
    w_.StructEnd();
  }
  void Attribute(std::string_view key, const trace::AttributeValue& value) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, bool>) {
            Bool(key, v);
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            Long(key, v);
          } else if constexpr (std::is_same_v<T, double>) {
            Double(key, v);
          } else if constexpr (std::is_same_v<T, std::string>) {
            String(key, v);
          } else {
            String(key, AttributeToJson(value));
          }
        },
        value);
  }

 private:
  void Begin(std::string_view key, TagType type) {
    ++count_;
    w_.StringField(tag_field::kKey, key);
    w_.I32Field(tag_field::kVType, static_cast<std::int32_t>(type));
  }

  ThriftBinaryWriter& w_;
  std::size_t size_offset_;
  std::int32_t count_ = 0;
};

std::int64_t Micros(UnixNanos ns) { return static_cast<std::int64_t>(ns / 1000); }

std::string_view KindTag(trace::SpanKind kind) {
  switch (kind) {
    case trace::SpanKind::kClient:
      return "client";
    case trace::SpanKind::kServer:
      return "server";
    case trace::SpanKind::kProducer:
      return "producer";
    case trace::SpanKind::kConsumer:
      return "consumer";
    case trace::SpanKind::kInternal:
      break;
  }
  return {};
}

void WriteRef(ThriftBinaryWriter& w, SpanRefType type, const trace::TraceId& trace_id,
              const trace::SpanId& span_id) {
  w.I32Field(ref_field::kRefType, static_cast<std::int32_t>(type));
  w.I64Field(ref_field::kTraceIdLow, IdToInt64(trace_id.data() + 8));
  w.I64Field(ref_field::kTraceIdHigh, IdToInt64(trace_id.data()));
  w.I64Field(ref_field::kSpanId, IdToInt64(span_id.data()));
  w.StructEnd();
}

void WriteProcess(ThriftBinaryWriter& w, const trace::Resource* resource) {
  std::string_view service = kUnknownService;
  if (resource != nullptr) {
    if (const auto* v = resource->attributes.Find(kServiceNameKey)) {
      if (const auto* s = std::get_if<std::string>(v); s != nullptr && !s->empty()) service = *s;
    }
  }
  w.StringField(process_field::kServiceName, service);
  if (resource != nullptr && !resource->attributes.empty()) {
    w.FieldBegin(ThriftType::kList, process_field::kTags);
    TagListWriter tags(w);
    for (const auto& attr : resource->attributes) {
      if (attr.key == kServiceNameKey) continue;
      tags.Attribute(attr.key, attr.value);
    }
    tags.Finish();
  }
  w.StructEnd();
}

void WriteSpan(ThriftBinaryWriter& w, const trace::SpanData& span) {
  w.I64Field(span_field::kTraceIdLow, IdToInt64(span.trace_id.data() + 8));
  w.I64Field(span_field::kTraceIdHigh, IdToInt64(span.trace_id.data()));
  w.I64Field(span_field::kSpanId, IdToInt64(span.span_id.data()));
  w.I64Field(span_field::kParentSpanId,
             span.HasParent() ? IdToInt64(span.parent_span_id.data()) : 0);
  w.StringField(span_field::kOperationName, span.name);

  const bool has_parent = span.HasParent();
  if (has_parent || !span.links.empty()) {
    w.FieldBegin(ThriftType::kList, span_field::kReferences);
    w.ListBegin(ThriftType::kStruct, ClampCount(span.links.size() + (has_parent ? 1 : 0)));
    // The specification wants the parent's CHILD_OF first, then one FOLLOWS_FROM per link.
    if (has_parent) WriteRef(w, SpanRefType::kChildOf, span.trace_id, span.parent_span_id);
    for (const auto& link : span.links) {
      WriteRef(w, SpanRefType::kFollowsFrom, link.context.trace_id(), link.context.span_id());
    }
  }

  w.I32Field(span_field::kFlags, span.flags.IsSampled() ? 1 : 0);
  w.I64Field(span_field::kStartTime, Micros(span.start_time));
  w.I64Field(span_field::kDuration,
             span.end_time > span.start_time ? Micros(span.end_time - span.start_time) : 0);

  w.FieldBegin(ThriftType::kList, span_field::kTags);
  {
    TagListWriter tags(w);
    const bool is_error = span.status == trace::SpanStatusCode::kError;
    for (const auto& attr : span.attributes) {
      // On ERROR the exporter's error=true wins over a user attribute of the same key.
      if (is_error && attr.key == "error") continue;
      tags.Attribute(attr.key, attr.value);
    }
    if (auto kind = KindTag(span.kind); !kind.empty()) tags.String("span.kind", kind);
    if (span.status != trace::SpanStatusCode::kUnset) {
      tags.String("otel.status_code", is_error ? "ERROR" : "OK");
    }
    if (is_error) {
      if (!span.status_description.empty()) {
        tags.String("otel.status_description", span.status_description);
      }
      tags.Bool("error", true);
    }
    if (span.scope != nullptr) {
      if (!span.scope->name.empty()) tags.String("otel.scope.name", span.scope->name);
      if (!span.scope->version.empty()) tags.String("otel.scope.version", span.scope->version);
    }
    if (span.trace_state != nullptr && !span.trace_state->empty()) {
      tags.String("w3c.tracestate", span.trace_state->ToHeader());
    }
    if (span.attributes.dropped() > 0) {
      tags.Long("otel.dropped_attributes_count", span.attributes.dropped());
    }
    if (span.dropped_events > 0) tags.Long("otel.dropped_events_count", span.dropped_events);
    if (span.dropped_links > 0) tags.Long("otel.dropped_links_count", span.dropped_links);
    tags.Finish();
  }

  if (!span.events.empty()) {
    w.FieldBegin(ThriftType::kList, span_field::kLogs);
    w.ListBegin(ThriftType::kStruct, ClampCount(span.events.size()));
    for (const auto& event : span.events) {
      w.I64Field(log_field::kTimestamp, Micros(event.time));
      w.FieldBegin(ThriftType::kList, log_field::kFields);
      TagListWriter fields(w);
      // An attribute named `event` takes precedence over the event's name (specification).
      if (event.attributes.Find("event") == nullptr) fields.String("event", event.name);
      for (const auto& attr : event.attributes) fields.Attribute(attr.key, attr.value);
      if (event.attributes.dropped() > 0) {
        fields.Long("otel.event.dropped_attributes_count", event.attributes.dropped());
      }
      fields.Finish();
      w.StructEnd();
    }
  }
  w.StructEnd();
}

}  // namespace

std::int64_t IdToInt64(const std::uint8_t* bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | bytes[i];
  return static_cast<std::int64_t>(v);
}

std::string AttributeToJson(const trace::AttributeValue& value) {
  // nlohmann/json writes JSON text correctly (escapes, non-finite doubles as null); arrays are
  // rare enough in tags that its allocation does not matter.
  return std::visit(
      [](const auto& v) {
        // `replace`: invalid UTF-8 in a user string must not throw out of a noexcept export.
        return nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      },
      value);
}

void EncodeBatch(const trace::Resource* resource, std::span<const trace::SpanData* const> spans,
                 std::string* out) {
  ThriftBinaryWriter w(out);
  w.FieldBegin(ThriftType::kStruct, batch_field::kProcess);
  WriteProcess(w, resource);
  w.FieldBegin(ThriftType::kList, batch_field::kSpans);
  w.ListBegin(ThriftType::kStruct, ClampCount(spans.size()));
  for (const trace::SpanData* span : spans) WriteSpan(w, *span);
  w.StructEnd();
}

}  // namespace minion::exporters::jaeger
