#include "minion/propagation/b3.h"

#include "propagation/text_util.h"

namespace minion::propagation {
namespace {

// B3 ids are lower-hex; 16 or 32 digits for the trace id (64-bit ids are left-padded).
bool ParseTraceId(std::string_view hex, trace::TraceId* id) {
  if (hex.size() != 16 && hex.size() != 32) return false;
  return internal::ParsePaddedHex<16>(hex, id->mutable_bytes().data(), false) && id->IsValid();
}

bool ParseSpanId(std::string_view hex, trace::SpanId* id) {
  if (hex.size() != 16) return false;
  return internal::ParsePaddedHex<8>(hex, id->mutable_bytes().data(), false) && id->IsValid();
}

// The single header: {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]].
bool ParseSingle(std::string_view value, trace::SpanContext* out) {
  value = internal::TrimOws(value);
  const std::size_t d1 = value.find('-');
  if (d1 == std::string_view::npos) return false;  // "0", "1", "d": sampling only, no span
  trace::TraceId trace_id;
  if (!ParseTraceId(value.substr(0, d1), &trace_id)) return false;
  std::string_view rest = value.substr(d1 + 1);
  const std::size_t d2 = rest.find('-');
  trace::SpanId span_id;
  if (!ParseSpanId(rest.substr(0, d2), &span_id)) return false;
  std::uint8_t flags = 0;
  if (d2 != std::string_view::npos) {
    rest.remove_prefix(d2 + 1);
    const std::size_t d3 = rest.find('-');
    std::string_view sampling = rest.substr(0, d3);
    if (sampling == "1" || sampling == "d") {
      flags = trace::TraceFlags::kSampled;
    } else if (sampling != "0") {
      return false;
    }
    if (d3 != std::string_view::npos) {
      trace::SpanId parent;
      if (!ParseSpanId(rest.substr(d3 + 1), &parent)) return false;
    }
  }
  *out = trace::SpanContext(trace_id, span_id, trace::TraceFlags(flags), /*is_remote=*/true);
  return true;
}

bool ParseMulti(const trace::TextMapCarrier& carrier, trace::SpanContext* out) {
  const auto trace_hex = carrier.Get(B3Propagator::kTraceIdHeader);
  const auto span_hex = carrier.Get(B3Propagator::kSpanIdHeader);
  if (!trace_hex || !span_hex) return false;
  trace::TraceId trace_id;
  trace::SpanId span_id;
  if (!ParseTraceId(internal::TrimOws(*trace_hex), &trace_id) ||
      !ParseSpanId(internal::TrimOws(*span_hex), &span_id)) {
    return false;
  }
  std::uint8_t flags = 0;
  const auto debug = carrier.Get(B3Propagator::kFlagsHeader);
  if (debug && internal::TrimOws(*debug) == "1") {
    flags = trace::TraceFlags::kSampled;  // debug implies an accept sampling decision
  } else if (const auto sampled = carrier.Get(B3Propagator::kSampledHeader)) {
    std::string_view s = internal::TrimOws(*sampled);
    // Old Zipkin clients send "true"/"false".
    if (s == "1" || internal::EqualsIgnoreCase(s, "true")) {
      flags = trace::TraceFlags::kSampled;
    } else if (!(s == "0" || internal::EqualsIgnoreCase(s, "false"))) {
      return false;
    }
  }
  *out = trace::SpanContext(trace_id, span_id, trace::TraceFlags(flags), /*is_remote=*/true);
  return true;
}

}  // namespace

void B3Propagator::Inject(const trace::Context& context, trace::TextMapCarrier& carrier) const {
  const trace::SpanContext& sc = context.span_context();
  if (!sc.IsValid()) return;
  char trace_hex[32];
  char span_hex[16];
  sc.trace_id().WriteHex(trace_hex);
  sc.span_id().WriteHex(span_hex);
  const char sampled = sc.IsSampled() ? '1' : '0';
  if (encoding_ == Encoding::kSingleHeader) {
    char value[32 + 1 + 16 + 2];
    std::copy(trace_hex, trace_hex + 32, value);
    value[32] = '-';
    std::copy(span_hex, span_hex + 16, value + 33);
    value[49] = '-';
    value[50] = sampled;
    carrier.Set(kSingleHeader, std::string_view(value, sizeof(value)));
  } else {
    carrier.Set(kTraceIdHeader, std::string_view(trace_hex, 32));
    carrier.Set(kSpanIdHeader, std::string_view(span_hex, 16));
    carrier.Set(kSampledHeader, std::string_view(&sampled, 1));
  }
}

trace::Context B3Propagator::Extract(const trace::TextMapCarrier& carrier,
                                     const trace::Context& context) const {
  trace::SpanContext parsed;
  if (const auto single = carrier.Get(kSingleHeader); single && !single->empty()) {
    // A present single header takes precedence even when malformed, as in other B3 libraries.
    if (!ParseSingle(*single, &parsed)) return context;
  } else if (!ParseMulti(carrier, &parsed)) {
    return context;
  }
  return context.WithSpanContext(std::move(parsed));
}

std::vector<std::string> B3Propagator::Fields() const {
  if (encoding_ == Encoding::kSingleHeader) return {kSingleHeader};
  return {kTraceIdHeader, kSpanIdHeader, kSampledHeader, kFlagsHeader, kParentSpanIdHeader};
}

}  // namespace minion::propagation
