#pragma once
// Test helper: an SDK tracer provider whose spans land, synchronously, in an in-memory
// exporter, and an observability::Tracer over it to inject into the code under test.

#include <memory>
#include <string_view>
#include <vector>

#include "minion/exporters/in_memory_exporter.h"
#include "minion/observability/tracing.h"
#include "minion/sdk/simple_span_processor.h"
#include "minion/sdk/tracer_provider.h"

namespace minion::testing {

class SpanCapture {
 public:
  SpanCapture() {
    auto exporter = std::make_unique<exporters::InMemorySpanExporter>();
    spans_ = exporter->storage();
    sdk::TracerProviderOptions options;
    options.processors.push_back(std::make_unique<sdk::SimpleSpanProcessor>(std::move(exporter)));
    options.merge_environment_resource = false;
    provider_ = sdk::TracerProvider::Create(std::move(options));
  }
  ~SpanCapture() { provider_->Shutdown(); }

  observability::Tracer tracer() const { return observability::Tracer(provider_->GetTracer("minion-test")); }
  std::vector<trace::SpanData> spans() const { return spans_->GetSpans(); }
  std::vector<trace::SpanData> SpansNamed(std::string_view name) const {
    std::vector<trace::SpanData> out;
    for (auto& s : spans_->GetSpans()) {
      if (s.name == name) out.push_back(s);
    }
    return out;
  }

 private:
  std::shared_ptr<exporters::InMemorySpanExporter::Storage> spans_;  // outlives the exporter
  std::shared_ptr<sdk::TracerProvider> provider_;
};

// Attribute accessors that fail the test's expectation readably when the key is missing.
inline const trace::AttributeValue* Attr(const trace::SpanData& span, std::string_view key) {
  return span.FindAttribute(key);
}
inline std::string StrAttr(const trace::SpanData& span, std::string_view key) {
  auto* v = span.FindAttribute(key);
  if (v == nullptr || !std::holds_alternative<std::string>(*v)) return "<missing>";
  return std::get<std::string>(*v);
}
inline std::int64_t IntAttr(const trace::SpanData& span, std::string_view key) {
  auto* v = span.FindAttribute(key);
  if (v == nullptr || !std::holds_alternative<std::int64_t>(*v)) return -1;
  return std::get<std::int64_t>(*v);
}
inline bool HasEvent(const trace::SpanData& span, std::string_view name) {
  for (const auto& e : span.events) {
    if (e.name == name) return true;
  }
  return false;
}

}  // namespace minion::testing
