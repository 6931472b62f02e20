#include "minion/propagation/jaeger.h"

#include <memory>

#include "minion/propagation/baggage.h"
#include "propagation/baggage_builder.h"
#include "propagation/text_util.h"

namespace minion::propagation {
namespace {

// Jaeger clients URL-encode the whole header ("%3A" for ':'), so decode first when a '%' is
// present.
bool ParseUberTraceId(std::string_view raw, trace::SpanContext* out) {
  std::string decoded;
  std::string_view value = internal::TrimOws(raw);
  if (value.find('%') != std::string_view::npos) {
    if (!internal::PercentDecode(value, &decoded)) return false;
    value = decoded;
  }
  std::string_view fields[4];
  for (int i = 0; i < 3; ++i) {
    const std::size_t colon = value.find(':');
    if (colon == std::string_view::npos) return false;
    fields[i] = value.substr(0, colon);
    value.remove_prefix(colon + 1);
  }
  fields[3] = value;
  if (fields[3].find(':') != std::string_view::npos) return false;

  trace::TraceId trace_id;
  trace::SpanId span_id;
  if (!internal::ParsePaddedHex<16>(fields[0], trace_id.mutable_bytes().data(), true) ||
      !trace_id.IsValid() ||
      !internal::ParsePaddedHex<8>(fields[1], span_id.mutable_bytes().data(), true) ||
      !span_id.IsValid()) {
    return false;
  }
  // The parent field is deprecated ("0"), but must still be hex when present.
  trace::SpanId parent;
  if (!internal::ParsePaddedHex<8>(fields[2], parent.mutable_bytes().data(), true)) return false;
  std::uint8_t jaeger_flags = 0;
  if (!internal::ParsePaddedHex<1>(fields[3], &jaeger_flags, true)) return false;
  // Bit 0 sampled, bit 1 debug (which Jaeger only sets on sampled traces).
  const bool sampled = (jaeger_flags & 0x03) != 0;
  *out = trace::SpanContext(trace_id, span_id,
                            trace::TraceFlags(sampled ? trace::TraceFlags::kSampled : 0),
                            /*is_remote=*/true);
  return true;
}

}  // namespace

void JaegerPropagator::Inject(const trace::Context& context, trace::TextMapCarrier& carrier) const {
  const trace::SpanContext& sc = context.span_context();
  if (sc.IsValid()) {
    // {trace}:{span}:0:{flags}; the parent field is deprecated and always "0".
    char value[32 + 1 + 16 + 3 + 2];
    sc.trace_id().WriteHex(value);
    value[32] = ':';
    sc.span_id().WriteHex(value + 33);
    value[49] = ':';
    value[50] = '0';
    value[51] = ':';
    value[52] = '0';
    value[53] = sc.IsSampled() ? '1' : '0';
    carrier.Set(kTraceHeader, std::string_view(value, sizeof(value)));
  }
  const auto& baggage = context.baggage_ptr();
  if (baggage == nullptr) return;
  std::string key;
  for (const auto& entry : baggage->entries()) {
    key.assign(kBaggagePrefix).append(entry.key);
    carrier.Set(key, internal::PercentEncode(entry.value));
  }
}

trace::Context JaegerPropagator::Extract(const trace::TextMapCarrier& carrier,
                                         const trace::Context& context) const {
  trace::Context result = context;
  if (const auto header = carrier.Get(kTraceHeader)) {
    trace::SpanContext parsed;
    if (ParseUberTraceId(*header, &parsed)) result = result.WithSpanContext(std::move(parsed));
  }
  internal::BaggageBuilder baggage(result.baggage());
  bool changed = false;
  std::string value;
  const std::string_view prefix(kBaggagePrefix);
  for (const std::string& name : carrier.Keys()) {
    if (name.size() <= prefix.size() || !internal::StartsWithIgnoreCase(name, prefix)) continue;
    const auto raw = carrier.Get(name);
    if (!raw || !internal::PercentDecode(internal::TrimOws(*raw), &value)) continue;
    baggage.Set(std::string_view(name).substr(prefix.size()), value, {});
    changed = true;
  }
  if (changed) result = result.WithBaggage(std::move(baggage).Build());
  return result;
}

std::vector<std::string> JaegerPropagator::Fields() const { return {kTraceHeader}; }

}  // namespace minion::propagation
