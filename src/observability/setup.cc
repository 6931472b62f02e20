// TracingConfig from the environment, and InitGlobalTracer: the place where concrete exporters,
// samplers and processors are wired together and installed as the global tracer.
#include "minion/observability/setup.h"

#include <algorithm>
#include <cctype>
#include <iostream>
#include <mutex>
#include <string>

#include "minion/common/env.h"
#include "minion/common/text.h"
#include "minion/exporters/stdout_exporter.h"
#include "minion/sdk/batch_span_processor.h"
#include "minion/sdk/tracer_provider.h"
#include "observability/global.h"
#ifdef MINION_HAVE_OTLP_HTTP
#include "minion/exporters/otlp_http_exporter.h"
#endif
#ifdef MINION_HAVE_OTLP_GRPC
#include "minion/exporters/otlp_grpc_exporter.h"
#endif
#ifdef MINION_HAVE_JAEGER
#include "minion/exporters/jaeger_exporter.h"
#endif
#ifdef MINION_HAVE_FILE_EXPORTER
#include "minion/exporters/file_exporter.h"
#endif
#ifdef MINION_HAVE_TAIL_SAMPLING
#include "minion/sampling/tail_sampling_processor.h"
#endif

namespace minion::observability {

// Makes `provider` the global one (shutting down the previous); null restores the no-op.
Status InstallProvider(std::shared_ptr<sdk::TracerProvider> provider);

namespace {

std::string Lower(std::string_view s) { return text::AsciiLower(s); }
std::string Trim(std::string_view s) { return std::string(text::Trim(s)); }

std::vector<std::string> SplitList(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string item = Lower(Trim(list.substr(0, comma)));
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

bool IsKnownSampler(const std::string& s) {
  return s == "always_on" || s == "always_off" || s == "traceidratio" ||
         s == "parentbased_always_on" || s == "parentbased_always_off" ||
         s == "parentbased_traceidratio";
}

// The OTLP protocol in force: the signal-specific variable, then the general one; "" if unset.
// A value that is none of the three is warned about (by OtlpExporterOptions::FromEnv, which
// reads it again) and treated as unset, like every bad standard variable.
std::string OtlpProtocolFromEnv() {
  for (const char* name : {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"}) {
    if (auto p = env::Get(name)) {
      std::string v = Lower(Trim(*p));
      if (v == "grpc" || v == "http/protobuf" || v == "http/json") return v;
      return "";
    }
  }
  return "";
}

}  // namespace

Result<TracingConfig> TracingConfig::FromEnv() { return FromEnv(TracingConfig()); }

Result<TracingConfig> TracingConfig::FromEnv(TracingConfig c, const env::Lookup& lookup) {
  const auto Get = [&lookup](std::string_view name) { return lookup(name); };
  // The seed's variables. They are ours, so a bad value is an error, not a guess.
  if (auto v = Get("TRACING_ENABLED")) {
    auto b = env::ParseBool(*v);
    if (!b.ok()) return b.status().WithContext("TRACING_ENABLED");
    c.enabled = *b;
  }
  if (auto v = Get("TRACING_EXPORTER")) c.exporter = Lower(Trim(*v));
  if (auto v = Get("OTLP_ENDPOINT")) c.otlp_endpoint = Trim(*v);
  if (auto v = Get("JAEGER_URL")) c.jaeger_url = Trim(*v);
  if (auto v = Get("SERVICE_NAME")) c.service_name = Trim(*v);
  if (auto v = Get("ENVIRONMENT")) c.environment = Trim(*v);
  if (auto v = Get("SAMPLING_RATIO")) {
    auto r = env::ParseDouble(*v);
    if (!r.ok() || *r < 0 || *r > 1)
      return InvalidArgumentError("SAMPLING_RATIO: '" + *v + "' is not a number in [0, 1]");
    c.sampling_ratio = *r;
  }
  if (auto v = Get("MINION_TAIL_SAMPLING")) {
    auto b = env::ParseBool(*v);
    if (!b.ok()) return b.status().WithContext("MINION_TAIL_SAMPLING");
    c.tail_sampling = *b;
  }
  if (auto v = Get("MINION_TAIL_SAMPLING_LATENCY_MS")) {
    auto ms = env::ParseInt(*v);
    if (!ms.ok()) return ms.status().WithContext("MINION_TAIL_SAMPLING_LATENCY_MS");
    c.tail_latency_threshold = std::chrono::milliseconds(*ms);
  }

  // The standard variables win. The specification asks for a warning and its default on a bad
  // value rather than a failure.
  if (auto v = Get("OTEL_SDK_DISABLED")) {
    auto b = env::ParseBool(*v);
    if (b.ok())
      c.enabled = c.enabled && !*b;
    else
      env::Warn("OTEL_SDK_DISABLED: " + b.status().message() + "; treating as false");
  }
  if (auto v = Get("OTEL_SERVICE_NAME")) c.service_name = Trim(*v);
  if (auto v = Get("OTEL_TRACES_EXPORTER")) {
    std::string mapped;
    for (const auto& name : SplitList(*v)) {
      std::string n = name == "console" ? "stdout" : name;
      if (n == "zipkin") {
        env::Warn("OTEL_TRACES_EXPORTER: zipkin is not supported by minion; ignoring it");
        continue;
      }
      static const char* const kKnown[] = {"otlp", "otlp-http", "otlp-http-json", "jaeger",
                                           "file", "stdout",    "stdout-json",    "none"};
      if (std::find(std::begin(kKnown), std::end(kKnown), n) == std::end(kKnown)) {
        env::Warn("OTEL_TRACES_EXPORTER=\"" + *v + "\": '" + n +
                  "' is not an exporter minion knows; ignoring it");
        continue;
      }
      mapped += (mapped.empty() ? "" : ",") + n;
    }
    c.exporter = mapped.empty() ? "none" : mapped;
  }
  if (auto v = Get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    c.otlp_endpoint = Trim(*v);
  else if (auto v2 = Get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    c.otlp_endpoint = Trim(*v2);
  if (auto v = Get("OTEL_EXPORTER_JAEGER_ENDPOINT")) c.jaeger_url = Trim(*v);
  if (auto v = Get("OTEL_TRACES_SAMPLER")) {
    std::string s = Lower(Trim(*v));
    if (IsKnownSampler(s)) {
      c.sampler = s;
    } else {
      env::Warn("OTEL_TRACES_SAMPLER: '" + *v +
                "' is not a supported sampler; using parentbased_always_on");
      c.sampler = "parentbased_always_on";
    }
  }
  if (auto v = Get("OTEL_TRACES_SAMPLER_ARG")) {
    if (c.sampler == "traceidratio" || c.sampler == "parentbased_traceidratio") {
      auto r = env::ParseDouble(*v);
      if (r.ok() && *r >= 0 && *r <= 1)
        c.sampling_ratio = *r;
      else {
        env::Warn("OTEL_TRACES_SAMPLER_ARG: '" + *v +
                  "' is not a probability in [0, 1]; using 1.0");
        c.sampling_ratio = 1.0;
      }
    }
  }
  return c;
}

Result<std::unique_ptr<sdk::Sampler>> MakeSampler(const TracingConfig& c) {
  if (c.sampling_ratio < 0 || c.sampling_ratio > 1 || c.sampling_ratio != c.sampling_ratio)
    return InvalidArgumentError("sampling_ratio must be in [0, 1], got " +
                                std::to_string(c.sampling_ratio));
  // Tail sampling applies the ratio at the end of the trace; at the head everything is recorded.
  if (c.tail_sampling) return sdk::MakeParentBasedSampler(sdk::MakeAlwaysOnSampler());
  const std::string s = c.sampler.empty() ? (c.sampling_ratio >= 1.0 ? "parentbased_always_on"
                                                                     : "parentbased_traceidratio")
                                          : c.sampler;
  if (s == "always_on") return sdk::MakeAlwaysOnSampler();
  if (s == "always_off") return sdk::MakeAlwaysOffSampler();
  if (s == "traceidratio") return sdk::MakeTraceIdRatioBasedSampler(c.sampling_ratio);
  if (s == "parentbased_always_on") return sdk::MakeParentBasedSampler(sdk::MakeAlwaysOnSampler());
  if (s == "parentbased_always_off")
    return sdk::MakeParentBasedSampler(sdk::MakeAlwaysOffSampler());
  if (s == "parentbased_traceidratio")
    return sdk::MakeParentBasedSampler(sdk::MakeTraceIdRatioBasedSampler(c.sampling_ratio));
  return InvalidArgumentError("unknown sampler '" + s + "'");
}

namespace {

// Status for an exporter that exists in the product but is not compiled into this build.
[[maybe_unused]] Status NotBuilt(std::string_view name, std::string_view option) {
  return UnimplementedError("exporter '" + std::string(name) +
                            "' is not built into this minion (rebuild with " + std::string(option) +
                            "); built in: " +
                            std::string(
#ifdef MINION_HAVE_OTLP_HTTP
                                "otlp-http "
#endif
#ifdef MINION_HAVE_OTLP_GRPC
                                "otlp(grpc) "
#endif
#ifdef MINION_HAVE_JAEGER
                                "jaeger "
#endif
#ifdef MINION_HAVE_FILE_EXPORTER
                                "file "
#endif
                                "stdout stdout-json none"));
}

}  // namespace

Result<std::unique_ptr<sdk::SpanExporter>> MakeExporter(std::string_view name_in,
                                                        const TracingConfig& c) {
  std::string name = Lower(Trim(name_in));
  if (name == "stdout" || name == "console")
    return std::unique_ptr<sdk::SpanExporter>(
        std::make_unique<exporters::StdoutSpanExporter>(std::cout));
  if (name == "stdout-json")
    return std::unique_ptr<sdk::SpanExporter>(std::make_unique<exporters::StdoutSpanExporter>(
        std::cout, exporters::StdoutFormat::kJsonLines));
  if (name == "otlp") {
    // The specification's default protocol is http/protobuf, but the seed's `exporter: "otlp"`
    // with a bare host:4317 endpoint means gRPC; an explicit OTEL_EXPORTER_OTLP_PROTOCOL wins.
    std::string protocol = OtlpProtocolFromEnv();
    if (protocol.empty()) protocol = "grpc";
    if (protocol == "grpc") {
#ifdef MINION_HAVE_OTLP_GRPC
      auto options = exporters::OtlpExporterOptions::FromEnv("grpc");
      if (!options.ok()) return options.status();
      if (!c.otlp_endpoint.empty() && !env::Get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") &&
          !env::Get("OTEL_EXPORTER_OTLP_ENDPOINT"))
        options->endpoint = c.otlp_endpoint;
      return exporters::OtlpGrpcExporter::Create(*options);
#else
      return NotBuilt("otlp (grpc)", "libgrpc++-dev installed");
#endif
    }
    if (protocol != "http/protobuf" && protocol != "http/json")
      return InvalidArgumentError("OTEL_EXPORTER_OTLP_PROTOCOL: '" + protocol +
                                  "' is not one of grpc, http/protobuf, http/json");
    name = "otlp-http";
  }
  if (name == "otlp-http" || name == "otlp-http-json") {
#ifdef MINION_HAVE_OTLP_HTTP
    std::string protocol = OtlpProtocolFromEnv();
    if (name == "otlp-http-json") protocol = "http/json";
    if (protocol.empty() || protocol == "grpc") protocol = "http/protobuf";
    auto options = exporters::OtlpExporterOptions::FromEnv(protocol);
    if (!options.ok()) return options.status();
    if (name == "otlp-http-json") options->protocol = exporters::OtlpProtocol::kHttpJson;
    if (!c.otlp_endpoint.empty() && !env::Get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") &&
        !env::Get("OTEL_EXPORTER_OTLP_ENDPOINT")) {
      // The seed's OTLP_ENDPOINT is host:port; HTTP wants a URL with the signal path.
      std::string url = c.otlp_endpoint;
      if (url.find("://") == std::string::npos) url = "http://" + url;
      if (url.find('/', url.find("://") + 3) == std::string::npos) url += "/v1/traces";
      options->endpoint = url;
    }
    return exporters::OtlpHttpExporter::Create(*options);
#else
    return NotBuilt(name, "libcurl4-openssl-dev and protobuf installed");
#endif
  }
  if (name == "jaeger") {
#ifdef MINION_HAVE_JAEGER
    exporters::JaegerExporterOptions options;
    if (!c.jaeger_url.empty()) options.endpoint = c.jaeger_url;
    return exporters::JaegerExporter::Create(options);
#else
    return NotBuilt(name, "libcurl4-openssl-dev installed");
#endif
  }
  if (name == "file") {
#ifdef MINION_HAVE_FILE_EXPORTER
    auto options = exporters::FileExporterOptions::FromEnv();
    if (!options.ok()) return options.status();
    return exporters::FileExporter::Create(*options);
#else
    return NotBuilt(name, "the file exporter");
#endif
  }
  return InvalidArgumentError(
      "unknown exporter '" + name +
      "' (want otlp, otlp-http, otlp-http-json, jaeger, file, stdout, stdout-json or none)");
}

Status InitGlobalTracer(const TracingConfig& config,
                        std::vector<std::unique_ptr<sdk::SpanProcessor>> extra) {
  if (!config.enabled) return InstallProvider(nullptr);
  auto sampler = MakeSampler(config);
  if (!sampler.ok()) return sampler.status();

  std::vector<std::unique_ptr<sdk::SpanProcessor>> processors;
  const sdk::BatchSpanProcessorOptions batch_options = sdk::BatchSpanProcessorOptions::FromEnv();
  for (const auto& name : SplitList(config.exporter)) {
    if (name == "none") continue;
    auto exporter = MakeExporter(name, config);
    if (!exporter.ok()) return exporter.status().WithContext("tracing exporter");
    processors.push_back(
        std::make_unique<sdk::BatchSpanProcessor>(std::move(*exporter), batch_options));
  }
  for (auto& p : extra) processors.push_back(std::move(p));

  std::unique_ptr<sdk::SpanProcessor> processor;
  if (processors.size() == 1)
    processor = std::move(processors.front());
  else
    processor = std::make_unique<sdk::MultiSpanProcessor>(std::move(processors));
  if (config.tail_sampling) {
#ifdef MINION_HAVE_TAIL_SAMPLING
    auto options = sampling::TailSamplingOptions::FromEnv();
    options.ratio = config.sampling_ratio;
    if (config.tail_latency_threshold.count() > 0)
      options.latency_threshold = config.tail_latency_threshold;
    processor = std::make_unique<sampling::TailSamplingProcessor>(std::move(processor), options);
#else
    return UnimplementedError("tail sampling is not built into this minion");
#endif
  }

  sdk::TracerProviderOptions options;
  options.resource.attributes.Set("service.name", config.service_name);
  if (!config.service_version.empty())
    options.resource.attributes.Set("service.version", config.service_version);
  if (!config.environment.empty())
    options.resource.attributes.Set("deployment.environment.name", config.environment);
  options.sampler = std::move(*sampler);
  options.processors.push_back(std::move(processor));
  options.limits = sdk::SpanLimitsFromEnv();
  return InstallProvider(sdk::TracerProvider::Create(std::move(options)));
}

// ---- the global provider ----

namespace {

struct GlobalProvider {
  std::mutex mu;
  std::shared_ptr<sdk::TracerProvider> provider;  // guarded by mu
};

GlobalProvider& Global() {
  static GlobalProvider* state = new GlobalProvider();  // leaked: spans may end during exit
  return *state;
}

}  // namespace

std::shared_ptr<sdk::TracerProvider> GlobalSdkProvider() {
  GlobalProvider& g = Global();
  std::lock_guard<std::mutex> lock(g.mu);
  return g.provider;
}

Status ShutdownTracer(std::chrono::milliseconds timeout) {
  GlobalProvider& g = Global();
  std::shared_ptr<sdk::TracerProvider> provider;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    provider = std::move(g.provider);
    trace::SetGlobalTracerProvider(nullptr);
    internal::SetGlobalTracer(nullptr);
  }
  if (provider && !provider->Shutdown(timeout))
    return DeadlineExceededError("tracer shutdown did not complete within " +
                                 std::to_string(timeout.count()) + " ms");
  return Status::Ok();
}

Status InstallProvider(std::shared_ptr<sdk::TracerProvider> provider) {
  GlobalProvider& g = Global();
  std::shared_ptr<sdk::TracerProvider> previous;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    previous = std::move(g.provider);
    g.provider = provider;
    trace::SetGlobalTracerProvider(provider);
    internal::SetGlobalTracer(
        provider ? provider->GetTracer(internal::kInstrumentationName, MINION_VERSION) : nullptr);
  }
  if (previous) previous->Shutdown(std::chrono::seconds(5));
  return Status::Ok();
}

}  // namespace minion::observability
