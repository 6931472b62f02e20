#pragma once
// W3C Trace Context (level 1, and level 2's "random" flag): the `traceparent` and `tracestate`
// headers. Thread-safe and stateless.

#include <string>
#include <vector>

#include "minion/trace/propagation.h"
#include "minion/trace/span_context.h"

namespace minion::propagation {

inline constexpr std::size_t kTraceParentSize = 55;

// Parses a traceparent value. Accepts version 00 of exactly 55 characters and, for forward
// compatibility, any later version (not ff) whose first four fields are well formed and which
// is either 55 characters long or continues with '-'. Hex must be lower case; all-zero ids and
// version ff are invalid. Surrounding spaces/tabs are ignored. Flags other than sampled and
// random are cleared (W3C: unknown flags must not be passed on). On success writes a remote
// SpanContext without trace state into `*out`; on failure leaves `*out` untouched. No
// allocation; safe on hot paths.
bool ParseTraceParent(std::string_view value, trace::SpanContext* out) noexcept;

// Writes the version-00 traceparent of `context` (exactly 55 characters, no terminator).
void FormatTraceParent(const trace::SpanContext& context, char out[kTraceParentSize]) noexcept;

class W3CTraceContextPropagator final : public trace::TextMapPropagator {
 public:
  static constexpr const char* kTraceParent = "traceparent";
  static constexpr const char* kTraceState = "tracestate";

  // Injects nothing when the context has no valid span.
  void Inject(const trace::Context& context, trace::TextMapCarrier& carrier) const override;
  // A malformed traceparent leaves `context` unchanged; a malformed tracestate is dropped while
  // the traceparent is kept.
  trace::Context Extract(const trace::TextMapCarrier& carrier,
                         const trace::Context& context) const override;
  std::vector<std::string> Fields() const override;
};

}  // namespace minion::propagation
