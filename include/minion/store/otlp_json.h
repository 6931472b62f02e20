#pragma once
// OTLP/JSON <-> the protobuf messages the trace store keeps, for the OTLP/HTTP JSON receiver,
// `minion serve --import` and the Jaeger v3 answers. The encoder in minion/otlp works from
// SpanData; this one works from received messages, so nothing a sender put in (nested
// key/value lists, bytes, dropped counts) is lost on the way to a query answer.
//
// Decoding follows the OTLP/JSON rules: trace and span ids in hex, lowerCamelCase keys
// (snake_case accepted too), 64-bit integers as strings or numbers, enums as integers or
// names. Input is bounded: nesting deeper than kMaxJsonDepth is refused before parsing, values
// nest at most kMaxAnyValueDepth, invalid UTF-8 is replaced by U+FFFD.

#include <string>
#include <string_view>

#include "minion/common/status.h"
#include "minion/store/trace_store.h"

namespace minion::store {

inline constexpr int kMaxJsonDepth = 64;
inline constexpr int kMaxAnyValueDepth = 16;

// An OTLP/JSON ExportTraceServiceRequest (or TracesData: same shape). kInvalidArgument with a
// message naming the problem (bad JSON, bad id, too deep).
Result<ExportRequest> DecodeOtlpJson(std::string_view json);

// TracesData as OTLP/JSON ({"resourceSpans": [...]}) appended to `out`.
void AppendOtlpJson(const TracesData& data, std::string& out);

// Lower-case hex of raw bytes, and back (kInvalidArgument unless `want_bytes` bytes of hex).
std::string ToHex(std::string_view bytes);
Result<std::string> FromHex(std::string_view hex, std::size_t want_bytes, std::string_view what);

}  // namespace minion::store
