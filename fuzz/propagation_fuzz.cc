// Fuzz target: every header parser that reads a peer's trace context. The input is split at
// '\n' into header values; each propagator (W3C tracecontext + tracestate, W3C baggage, B3
// single and multi, Jaeger uber-trace-id and uberctx-*) extracts from them, and whatever it
// extracted is injected again (the round trip must not crash either).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "minion/propagation/b3.h"
#include "minion/propagation/baggage.h"
#include "minion/propagation/carriers.h"
#include "minion/propagation/jaeger.h"
#include "minion/propagation/trace_context.h"
#include "minion/trace/trace_state.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace minion;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (parts.size() < 8) {
    const std::size_t nl = input.find('\n', start);
    parts.emplace_back(
        input.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  parts.resize(8);
  std::map<std::string, std::string> headers = {
      {"traceparent", parts[0]},  {"tracestate", parts[1]},
      {"baggage", parts[2]},      {"b3", parts[3]},
      {"x-b3-traceid", parts[4]}, {"x-b3-spanid", parts[5]},
      {"x-b3-sampled", parts[6]}, {"uber-trace-id", parts[7]},
      {"uberctx-key", parts[2]},  {"x-b3-parentspanid", parts[5]},
      {"x-b3-flags", parts[6]}};
  const propagation::MapCarrier carrier(headers);
  (void)trace::TraceState::FromHeader(parts[1]);

  const propagation::W3CTraceContextPropagator trace_context;
  const propagation::W3CBaggagePropagator baggage;
  const propagation::B3Propagator b3_single(propagation::B3Propagator::Encoding::kSingleHeader);
  const propagation::B3Propagator b3_multi(propagation::B3Propagator::Encoding::kMultiHeader);
  const propagation::JaegerPropagator jaeger;
  const trace::TextMapPropagator* all[] = {&trace_context, &baggage, &b3_single, &b3_multi,
                                           &jaeger};
  for (const trace::TextMapPropagator* p : all) {
    trace::Context extracted = p->Extract(carrier, trace::Context());
    std::map<std::string, std::string> out;
    propagation::MapCarrier out_carrier(out);
    p->Inject(extracted, out_carrier);
  }
  return 0;
}
