#include "support/tracing_rig.h"

#include <algorithm>

#include "minion/sdk/simple_span_processor.h"
#include "minion/trace/attribute.h"

namespace minion::testing {

TracingRig::TracingRig(std::unique_ptr<sdk::Sampler> sampler, Clock* clock,
                       trace::SpanLimits limits) {
  auto exporter = std::make_unique<exporters::InMemorySpanExporter>();
  spans = exporter->storage();
  sdk::TracerProviderOptions options;
  options.processors.push_back(std::make_unique<sdk::SimpleSpanProcessor>(std::move(exporter)));
  if (sampler) options.sampler = std::move(sampler);
  options.clock = clock;
  options.limits = limits;
  options.merge_environment_resource = false;
  options.resource.attributes.Set("service.name", "test-service");
  provider = sdk::TracerProvider::Create(std::move(options));
  tracer = provider->GetTracer("minion.test", "1.0");
}

TracingRig::~TracingRig() { provider->Shutdown(); }

std::vector<trace::SpanData> TracingRig::SpansNamed(std::string_view name) const {
  std::vector<trace::SpanData> out;
  for (auto& s : spans->GetSpans()) {
    if (s.name == name) out.push_back(std::move(s));
  }
  return out;
}

const trace::SpanData* FindSpan(const std::vector<trace::SpanData>& spans, std::string_view name) {
  for (const auto& s : spans) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::vector<const trace::SpanData*> Named(const std::vector<trace::SpanData>& spans,
                                          std::string_view name) {
  std::vector<const trace::SpanData*> out;
  for (const auto& s : spans) {
    if (s.name == name) out.push_back(&s);
  }
  return out;
}

const trace::SpanData* ById(const std::vector<trace::SpanData>& spans, const trace::SpanId& id) {
  for (const auto& s : spans) {
    if (s.span_id == id) return &s;
  }
  return nullptr;
}

std::vector<const trace::SpanData*> ChildrenOf(const std::vector<trace::SpanData>& spans,
                                               const trace::SpanData& parent) {
  std::vector<const trace::SpanData*> out;
  for (const auto& s : spans) {
    if (s.trace_id == parent.trace_id && s.parent_span_id == parent.span_id) out.push_back(&s);
  }
  return out;
}

std::string Str(const trace::SpanData& span, std::string_view key) {
  const auto* v = span.FindAttribute(key);
  if (!v) return "<missing>";
  return trace::AttributeValueToString(*v);
}

std::string StrAttr(const trace::SpanData& span, std::string_view key) {
  const auto* v = span.FindAttribute(key);
  if (v == nullptr || !std::holds_alternative<std::string>(*v)) return "<missing>";
  return std::get<std::string>(*v);
}

std::int64_t IntAttr(const trace::SpanData& span, std::string_view key) {
  const auto* v = span.FindAttribute(key);
  if (v == nullptr || !std::holds_alternative<std::int64_t>(*v)) return -1;
  return std::get<std::int64_t>(*v);
}

bool HasEvent(const trace::SpanData& span, std::string_view name) {
  return std::any_of(span.events.begin(), span.events.end(),
                     [name](const trace::SpanEvent& e) { return e.name == name; });
}

bool HasExceptionEvent(const trace::SpanData& span) { return HasEvent(span, "exception"); }

}  // namespace minion::testing
