#pragma once
// Helpers shared by the propagation tests.

#include <map>
#include <string>

#include "minion/trace/context.h"
#include "minion/trace/span_context.h"

namespace minion::propagation::testing {

inline trace::TraceId TraceIdFromHex(const std::string& hex) {
  return *trace::TraceId::FromHex(hex);
}
inline trace::SpanId SpanIdFromHex(const std::string& hex) { return *trace::SpanId::FromHex(hex); }

inline trace::SpanContext MakeSpanContext(const std::string& trace_hex, const std::string& span_hex,
                                          std::uint8_t flags) {
  return trace::SpanContext(TraceIdFromHex(trace_hex), SpanIdFromHex(span_hex),
                            trace::TraceFlags(flags), /*is_remote=*/false);
}

}  // namespace minion::propagation::testing
