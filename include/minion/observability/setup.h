#pragma once
// Setting up tracing for a process: TracingConfig (from code or the environment) and
// InitGlobalTracer / ShutdownTracer, which wire the SDK, the configured exporters and sampler
// together and install them as the global tracer (observability::GetTracer()). This is the one
// place concrete exporters meet the runtime; only applications and tests include it, never
// instrumented code (which sees observability/tracing.h and the trace API only).
//
//   observability::TracingConfig config;
//   config.exporter = "otlp";
//   if (Status s = observability::InitGlobalTracer(config); !s.ok()) return s;
//   ...
//   observability::ShutdownTracer();
//
// Thread-safe, but meant to be called once at start and once at exit.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "minion/common/env.h"
#include "minion/common/status.h"
#include "minion/sdk/sampler.h"
#include "minion/sdk/span_exporter.h"
#include "minion/sdk/span_processor.h"

namespace minion::sdk {
class TracerProvider;
}

namespace minion::observability {

struct TracingConfig {
  bool enabled = true;
  std::string service_name = "minion-multiagent";
  std::string service_version;
  std::string environment = "development";
  // "otlp" (gRPC unless OTEL_EXPORTER_OTLP_PROTOCOL says otherwise), "otlp-http", "jaeger",
  // "stdout", "stdout-json", "file", "memory", "none"; comma-separated for several.
  std::string exporter = "stdout";
  std::string otlp_endpoint;  // "localhost:4317" (gRPC) or "http://localhost:4318" (HTTP)
  std::string jaeger_url = "http://localhost:14268/api/traces";
  double sampling_ratio = 1.0;
  // An OTEL_TRACES_SAMPLER name (always_on, always_off, traceidratio, parentbased_always_on,
  // parentbased_always_off, parentbased_traceidratio); empty means
  // parentbased_traceidratio with `sampling_ratio` (parentbased_always_on when it is 1).
  std::string sampler;
  // Tail sampling ("always sample errors, 10% of successes"): when on, sampling_ratio applies
  // to successful traces at the end, and every trace with an error or slow root is kept.
  bool tail_sampling = false;
  std::chrono::milliseconds tail_latency_threshold{0};  // 0 = no latency rule

  // The seed's variables (TRACING_ENABLED, TRACING_EXPORTER, OTLP_ENDPOINT, SAMPLING_RATIO,
  // JAEGER_URL, SERVICE_NAME, ENVIRONMENT) over `base`, then the standard OTEL_* ones
  // (OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT,
  // OTEL_TRACES_SAMPLER(_ARG)), which win where both are set. Invalid values are an error.
  // `lookup` reads a variable (default: the process environment).
  static Result<TracingConfig> FromEnv(TracingConfig base, const env::Lookup& lookup = env::Get);
  static Result<TracingConfig> FromEnv();
};

// Builds the provider the config describes (exporters, sampler, batch processor) and installs
// it as the global one. An exporter that is unknown or not built in is an error naming it.
// `extra_processors` are added beside the configured exporters (e.g. an in-memory exporter
// that `minion run` prints the trace tree from).
Status InitGlobalTracer(const TracingConfig& config,
                        std::vector<std::unique_ptr<sdk::SpanProcessor>> extra_processors = {});
// The sampler TracingConfig describes (exposed for tests and for the runtime's own providers).
Result<std::unique_ptr<sdk::Sampler>> MakeSampler(const TracingConfig& config);
// One exporter by name, as InitGlobalTracer builds it.
Result<std::unique_ptr<sdk::SpanExporter>> MakeExporter(std::string_view name,
                                                        const TracingConfig& config);
// Flushes and shuts down the global provider within `timeout`; idempotent.
Status ShutdownTracer(std::chrono::milliseconds timeout = std::chrono::seconds(10));
// The provider InitGlobalTracer built (null before, or when tracing is disabled).
std::shared_ptr<sdk::TracerProvider> GlobalSdkProvider();

}  // namespace minion::observability
