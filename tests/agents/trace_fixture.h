#pragma once
// Test tracing pipeline: a real SDK TracerProvider exporting synchronously into an
// InMemorySpanExporter, plus lookups over the exported spans.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "minion/exporters/in_memory_exporter.h"
#include "minion/observability/tracing.h"
#include "minion/sdk/sampler.h"
#include "minion/sdk/simple_span_processor.h"
#include "minion/sdk/tracer_provider.h"
#include "minion/trace/attribute.h"

namespace minion::agents::testing {

class TraceFixture {
 public:
  explicit TraceFixture(std::unique_ptr<sdk::Sampler> sampler = nullptr) {
    auto exporter = std::make_unique<exporters::InMemorySpanExporter>();
    storage_ = exporter->storage();
    sdk::TracerProviderOptions options;
    options.processors.push_back(std::make_unique<sdk::SimpleSpanProcessor>(std::move(exporter)));
    if (sampler) options.sampler = std::move(sampler);
    options.merge_environment_resource = false;
    provider_ = sdk::TracerProvider::Create(std::move(options));
    tracer_ = std::make_shared<observability::Tracer>(provider_->GetTracer("minion.agents.test"));
  }
  ~TraceFixture() { provider_->Shutdown(); }

  std::shared_ptr<observability::Tracer> tracer() const { return tracer_; }
  std::vector<trace::SpanData> Spans() const { return storage_->GetSpans(); }
  void Reset() { storage_->Reset(); }

  static std::vector<const trace::SpanData*> Named(const std::vector<trace::SpanData>& spans,
                                                   const std::string& name) {
    std::vector<const trace::SpanData*> out;
    for (const auto& s : spans) if (s.name == name) out.push_back(&s);
    return out;
  }
  static const trace::SpanData* ById(const std::vector<trace::SpanData>& spans, const trace::SpanId& id) {
    for (const auto& s : spans) if (s.span_id == id) return &s;
    return nullptr;
  }
  static std::string Str(const trace::SpanData& span, std::string_view key) {
    const auto* v = span.FindAttribute(key);
    if (!v) return "<missing>";
    return trace::AttributeValueToString(*v);
  }
  static bool HasExceptionEvent(const trace::SpanData& span) {
    return std::any_of(span.events.begin(), span.events.end(),
                       [](const trace::SpanEvent& e) { return e.name == "exception"; });
  }

 private:
  std::shared_ptr<exporters::InMemorySpanExporter::Storage> storage_;
  std::shared_ptr<sdk::TracerProvider> provider_;
  std::shared_ptr<observability::Tracer> tracer_;
};

}  // namespace minion::agents::testing
