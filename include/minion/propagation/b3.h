#pragma once
// Zipkin B3 propagation (https://github.com/openzipkin/b3-propagation). Injects either the
// single `b3` header ("{trace}-{span}-{sampled}") or the multi-header form (X-B3-TraceId,
// X-B3-SpanId, X-B3-Sampled); Extract accepts both, preferring `b3` when present. 64-bit trace
// ids are left-padded to 128 bits; the debug flag ("d", X-B3-Flags: 1) means sampled. A
// sampling-only `b3: 0|1|d` carries no span and leaves the context unchanged. Thread-safe.

#include <string>
#include <vector>

#include "minion/trace/propagation.h"

namespace minion::propagation {

class B3Propagator final : public trace::TextMapPropagator {
 public:
  enum class Encoding { kSingleHeader, kMultiHeader };

  static constexpr const char* kSingleHeader = "b3";
  static constexpr const char* kTraceIdHeader = "X-B3-TraceId";
  static constexpr const char* kSpanIdHeader = "X-B3-SpanId";
  static constexpr const char* kParentSpanIdHeader = "X-B3-ParentSpanId";
  static constexpr const char* kSampledHeader = "X-B3-Sampled";
  static constexpr const char* kFlagsHeader = "X-B3-Flags";

  explicit B3Propagator(Encoding encoding = Encoding::kSingleHeader) : encoding_(encoding) {}

  void Inject(const trace::Context& context, trace::TextMapCarrier& carrier) const override;
  trace::Context Extract(const trace::TextMapCarrier& carrier,
                         const trace::Context& context) const override;
  // The headers this propagator injects in its encoding.
  std::vector<std::string> Fields() const override;

 private:
  Encoding encoding_;
};

}  // namespace minion::propagation
