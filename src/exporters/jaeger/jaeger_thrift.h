#pragma once
// Maps minion spans onto Jaeger's Thrift `Batch` (jaeger-idl thrift/jaeger.thrift) following
// the OpenTelemetry specification's "OpenTelemetry to Jaeger Transformation":
//   ids         traceIdHigh/Low = the 16 trace-id bytes as two big-endian u64 read as i64
//   parent      parentSpanId, plus a CHILD_OF reference first; links are FOLLOWS_FROM refs
//   times       microseconds (startTime since the epoch, duration = end - start, truncated)
//   attributes  tags of the matching type; arrays as JSON strings
//   kind        span.kind = client|server|producer|consumer (internal: no tag)
//   status      otel.status_code = OK|ERROR, otel.status_description, and error=true on ERROR
//   scope       otel.scope.name / otel.scope.version; tracestate as w3c.tracestate
//   events      logs: timestamp in µs, fields = event=<name> + the event's attributes
//   resource    Process.serviceName = service.name, the other attributes as process tags
// Pure functions; thread-safe.

#include <span>
#include <string>

#include "minion/trace/span_data.h"

namespace minion::exporters::jaeger {

// Jaeger's TagType and SpanRefType enum values (encoded as i32).
enum class TagType : std::int32_t { kString = 0, kDouble = 1, kBool = 2, kLong = 3, kBinary = 4 };
enum class SpanRefType : std::int32_t { kChildOf = 0, kFollowsFrom = 1 };

// The service name Jaeger shows when the resource has no string service.name.
inline constexpr std::string_view kUnknownService = "unknown_service";

// Appends one Thrift-binary `Batch` holding `spans`, whose process is built from `resource`
// (may be null). All spans are assumed to share that resource.
void EncodeBatch(const trace::Resource* resource, std::span<const trace::SpanData* const> spans,
                 std::string* out);

// Jaeger's i64 view of 8 id bytes (big-endian u64 reinterpreted as signed).
std::int64_t IdToInt64(const std::uint8_t* bytes);

// The JSON text of an array attribute, e.g. ["a","b"] or [1,2]. Scalars render as JSON too.
std::string AttributeToJson(const trace::AttributeValue& value);

}  // namespace minion::exporters::jaeger
