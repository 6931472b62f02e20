#pragma once
// A provider wired to an in-memory exporter through a SimpleSpanProcessor: spans are visible
// the moment they end, with no thread to wait for.
#include <memory>

#include "minion/exporters/in_memory_exporter.h"
#include "minion/sdk/simple_span_processor.h"
#include "minion/sdk/tracer_provider.h"

namespace minion::testing {

struct TestProvider {
  std::shared_ptr<sdk::TracerProvider> provider;
  std::shared_ptr<exporters::InMemorySpanExporter::Storage> spans;
  std::shared_ptr<trace::Tracer> tracer;

  explicit TestProvider(std::unique_ptr<sdk::Sampler> sampler = nullptr, Clock* clock = nullptr,
                        trace::SpanLimits limits = {}) {
    auto exporter = std::make_unique<exporters::InMemorySpanExporter>();
    spans = exporter->storage();
    sdk::TracerProviderOptions options;
    options.processors.push_back(std::make_unique<sdk::SimpleSpanProcessor>(std::move(exporter)));
    options.sampler = std::move(sampler);
    options.clock = clock;
    options.limits = limits;
    options.merge_environment_resource = false;
    options.resource.attributes.Set("service.name", "test-service");
    provider = sdk::TracerProvider::Create(std::move(options));
    tracer = provider->GetTracer("minion.test", "1.0");
  }
};

}  // namespace minion::testing
