#pragma once
// OTLP trace requests -> SpanData, for minion's own receiver and for tests. The result owns
// the Resources and Scopes its spans point to.
//
// OTLP values minion's attribute model cannot hold are mapped, not lost silently: bytes
// become strings, arrays of mixed types and key/value lists are dropped and counted in the
// owner's dropped-attributes count. An empty array decodes as an empty string array.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "minion/common/status.h"
#include "minion/trace/span_data.h"

namespace minion::otlp {

// What a Span message carries that SpanData has no field for.
struct DecodedSpanExtras {
  std::uint32_t raw_flags = 0;  // Span.flags exactly as received (0 = not set by the sender)
  std::uint32_t dropped_attributes = 0;
  std::vector<std::uint32_t> event_dropped_attributes;  // index-aligned with SpanData::events
  std::vector<std::uint32_t> link_dropped_attributes;   // index-aligned with SpanData::links
  std::vector<std::uint32_t> link_raw_flags;            // Link.flags as received
};

struct DecodedTraceRequest {
  std::vector<std::unique_ptr<trace::Resource>> resources;
  std::vector<std::unique_ptr<trace::InstrumentationScope>> scopes;
  // resource/scope point into the vectors above. SpanData::flags holds the low 8 bits of
  // Span.flags; parent_is_remote (and each link's is_remote) comes from bits 8-9.
  std::vector<trace::SpanData> spans;
  std::vector<DecodedSpanExtras> extras;                   // index-aligned with spans
  std::vector<std::uint32_t> resource_dropped_attributes;  // index-aligned with resources
  std::vector<std::uint32_t> scope_dropped_attributes;     // index-aligned with scopes
};

// Parses a binary ExportTraceServiceRequest. Fails with kInvalidArgument on malformed input
// (bad wire format, invalid UTF-8, ids of the wrong length).
Result<DecodedTraceRequest> DecodeTraceRequestProto(std::string_view bytes);

}  // namespace minion::otlp
