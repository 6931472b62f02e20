#pragma once
// SpanData -> OTLP trace export requests, in the two encodings OTLP/HTTP defines: binary
// protobuf (application/x-protobuf, also the gRPC payload) and OTLP/JSON (application/json).
//
// Spans are grouped by Resource and then by InstrumentationScope (by the identity of the
// pointers SpanData carries, in first-seen order), as ExportTraceServiceRequest requires.
// Every function here is stateless and thread-safe; the spans are only read.

#include <cstdint>
#include <span>
#include <string>

#include "minion/common/status.h"
#include "minion/trace/span_data.h"

namespace minion::otlp {

// Span.flags / Span.Link.flags bits (opentelemetry.proto.trace.v1.SpanFlags).
inline constexpr std::uint32_t kSpanFlagsTraceFlagsMask = 0x000000FF;
inline constexpr std::uint32_t kSpanFlagsContextHasIsRemoteMask = 0x00000100;
inline constexpr std::uint32_t kSpanFlagsContextIsRemoteMask = 0x00000200;

// The W3C trace flags in the low 8 bits, and, because an SDK always knows whether the parent
// (or linked) context was remote, HAS_IS_REMOTE plus IS_REMOTE when it was.
constexpr std::uint32_t SpanFlagsFor(trace::TraceFlags flags, bool context_is_remote) {
  return flags.value() | kSpanFlagsContextHasIsRemoteMask |
         (context_is_remote ? kSpanFlagsContextIsRemoteMask : 0u);
}

// Serialized ExportTraceServiceRequest (binary protobuf). Strings that are not valid UTF-8
// (which protobuf forbids in `string` fields) are repaired with U+FFFD rather than rejected.
// Fails only if the request would exceed protobuf's 2 GiB message limit.
Result<std::string> SerializeTraceRequestProto(std::span<const trace::SpanDataPtr> spans);
// The same bytes appended to `out` (reuses its capacity; what the exporters call).
Status AppendTraceRequestProto(std::span<const trace::SpanDataPtr> spans, std::string& out);

// The same request as OTLP/JSON: lowerCamelCase keys, trace/span ids as lower-case hex, enums
// as integers, 64-bit integers as decimal strings, default values omitted.
std::string EncodeTraceRequestJson(std::span<const trace::SpanDataPtr> spans);
void AppendTraceRequestJson(std::span<const trace::SpanDataPtr> spans, std::string& out);

}  // namespace minion::otlp
