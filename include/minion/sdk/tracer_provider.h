#pragma once
// The SDK's TracerProvider: owns the resource, the sampler, the span processor(s), the id
// generator and the clock; hands out Tracers that record spans through them. Thread-safe.
//
//   auto provider = sdk::TracerProvider::Create({
//       .resource = ..., .sampler = sdk::MakeParentBasedSampler(sdk::MakeAlwaysOnSampler()),
//       .processors = {std::make_unique<sdk::BatchSpanProcessor>(std::move(exporter))}});
//   auto tracer = provider->GetTracer("my-lib", "1.0");

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "minion/common/clock.h"
#include "minion/common/env.h"
#include "minion/sdk/sampler.h"
#include "minion/sdk/span_processor.h"
#include "minion/trace/ids.h"
#include "minion/trace/tracer.h"

namespace minion::sdk {

struct TracerProviderOptions {
  trace::Resource resource;          // merged over the defaults and under the environment
  std::unique_ptr<Sampler> sampler;  // default ParentBased(AlwaysOn)
  std::vector<std::unique_ptr<SpanProcessor>> processors;
  trace::SpanLimits limits;                    // see SpanLimitsFromEnv()
  trace::IdGenerator* id_generator = nullptr;  // not owned; default DefaultIdGenerator()
  Clock* clock = nullptr;                      // not owned; default SystemClock()
  bool merge_environment_resource = true;      // OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME
};

// The specification's defaults overridden by OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
// OTEL_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
// OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_EVENT_COUNT_LIMIT, OTEL_SPAN_LINK_COUNT_LIMIT,
// OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT and OTEL_LINK_ATTRIBUTE_COUNT_LIMIT.
trace::SpanLimits SpanLimitsFromEnv(const env::Lookup& lookup = env::Get);

class TracerProvider final : public trace::TracerProvider,
                             public std::enable_shared_from_this<TracerProvider> {
 public:
  static std::shared_ptr<TracerProvider> Create(TracerProviderOptions options);
  ~TracerProvider() override;

  std::shared_ptr<trace::Tracer> GetTracer(std::string_view name, std::string_view version = {},
                                           std::string_view schema_url = {}) override;
  bool ForceFlush(std::chrono::microseconds timeout = std::chrono::seconds(5)) noexcept override;
  // Idempotent. Spans that end afterwards are dropped.
  bool Shutdown(std::chrono::microseconds timeout = std::chrono::seconds(5)) noexcept override;

  const trace::Resource& resource() const { return resource_; }
  const Sampler& sampler() const { return *sampler_; }
  SpanProcessor& processor() { return *processor_; }

 private:
  friend class SdkTracer;
  explicit TracerProvider(TracerProviderOptions options);

  trace::Resource resource_;
  std::unique_ptr<Sampler> sampler_;
  std::unique_ptr<SpanProcessor> processor_;
  trace::SpanLimits limits_;
  trace::IdGenerator* id_generator_;
  Clock* clock_;
  std::atomic<bool> shut_down_{false};

  std::mutex tracers_mu_;
  std::vector<std::shared_ptr<trace::Tracer>> tracers_;  // guarded by tracers_mu_
};

}  // namespace minion::sdk
