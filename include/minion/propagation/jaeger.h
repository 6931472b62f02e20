#pragma once
// Jaeger native propagation: `uber-trace-id: {trace}:{span}:{parent}:{flags}` (ids are 1-32 /
// 1-16 hex digits, left-padded; flags is a hex byte where bit 0 is sampled and bit 1 debug,
// which also means sampled) and one `uberctx-{key}` header per baggage entry with a
// URL-encoded value. A URL-encoded header ("%3A" for ':') is accepted, as Jaeger clients emit
// it. Thread-safe and stateless.

#include <string>
#include <vector>

#include "minion/trace/propagation.h"

namespace minion::propagation {

class JaegerPropagator final : public trace::TextMapPropagator {
 public:
  static constexpr const char* kTraceHeader = "uber-trace-id";
  static constexpr const char* kBaggagePrefix = "uberctx-";

  void Inject(const trace::Context& context, trace::TextMapCarrier& carrier) const override;
  // Merges `uberctx-` entries into the context's existing baggage.
  trace::Context Extract(const trace::TextMapCarrier& carrier,
                         const trace::Context& context) const override;
  std::vector<std::string> Fields() const override;
};

}  // namespace minion::propagation
