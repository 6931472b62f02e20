#pragma once
// The seed's observability facade, in C++ idiom: TracingConfig, InitGlobalTracer / GetTracer /
// ShutdownTracer, the seed's attribute keys and span names, and Start*Span helpers that
// return the child Context together with the Span (the seed's `ctx, span := ...`).
//
//   auto [ctx, span] = observability::StartMultiAgentTaskSpan(parent, id, name, type, 8);
//   Status s = DoWork(ctx);
//   observability::EndSpan(span, s);  // ERROR + exception event on failure; never forces OK

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "minion/common/status.h"
#include "minion/trace/tracer.h"

#include <vector>

#include "minion/sdk/sampler.h"
#include "minion/sdk/span_exporter.h"
#include "minion/sdk/span_processor.h"

namespace minion::sdk { class TracerProvider; }

namespace minion::observability {

// The seed's attribute keys, exactly.
inline constexpr std::string_view kAttrTaskID = "multiagent.task.id";
inline constexpr std::string_view kAttrTaskName = "multiagent.task.name";
inline constexpr std::string_view kAttrTaskType = "multiagent.task.type";
inline constexpr std::string_view kAttrTaskPriority = "multiagent.task.priority";
inline constexpr std::string_view kAttrWorkerID = "multiagent.worker.id";
inline constexpr std::string_view kAttrWorkerCapability = "multiagent.worker.capability";
inline constexpr std::string_view kAttrMessageType = "multiagent.message.type";
inline constexpr std::string_view kAttrMessageID = "multiagent.message.id";
inline constexpr std::string_view kAttrOrchestratorID = "multiagent.orchestrator.id";
inline constexpr std::string_view kAttrSubtaskCount = "multiagent.subtask.count";
inline constexpr std::string_view kAttrOperation = "operation";
// The seed's SpanKind (multiagent/worker/protocol/llm/tool/storage) is a component label, not
// an OpenTelemetry span kind; it travels under this key so the two never collide.
inline constexpr std::string_view kAttrComponent = "minion.component";
// Set on a span whose trace must survive tail sampling even if the task ends well: e.g. a
// subtask attempt failed (possibly in another process, whose half of the trace is kept for
// its error) and a retry then succeeded. Same key as sampling::kTailKeepAttribute.
inline constexpr std::string_view kAttrTailKeep = "minion.tail.keep";

enum class Component { kMultiAgent, kWorker, kProtocol, kLlm, kTool, kStorage };
std::string_view ComponentName(Component component);  // "multiagent", "worker", ...

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
  static Result<TracingConfig> FromEnv(TracingConfig base);
  static Result<TracingConfig> FromEnv();
};

struct StartedSpan {
  trace::Context context;  // pass this to callees: their spans become children
  trace::Span span;
};

// The seed's Tracer. Cheap to copy; thread-safe.
class Tracer {
 public:
  explicit Tracer(std::shared_ptr<trace::Tracer> tracer) : keep_alive_(std::move(tracer)), tracer_(keep_alive_.get()) {}
  // A tracer the caller guarantees outlives this handle.
  explicit Tracer(trace::Tracer* tracer) : tracer_(tracer) {}

  StartedSpan StartSpan(const trace::Context& parent, std::string_view name, Component component,
                        std::initializer_list<trace::KeyValueView> attributes = {},
                        trace::SpanKind kind = trace::SpanKind::kInternal) const;

  // multiagent.task.<type>
  StartedSpan StartMultiAgentTaskSpan(const trace::Context& parent, std::string_view task_id,
                                      std::string_view task_name, std::string_view task_type,
                                      int priority) const;
  // worker.<capability>; a CONSUMER span (it handles a message).
  StartedSpan StartWorkerSpan(const trace::Context& parent, std::string_view worker_id,
                              std::string_view capability, std::string_view task_id) const;
  // protocol.<operation>; "send" is a PRODUCER span.
  StartedSpan StartProtocolSpan(const trace::Context& parent, std::string_view operation,
                                std::string_view message_type, std::string_view message_id) const;
  // orchestrator.<operation>
  StartedSpan StartOrchestratorSpan(const trace::Context& parent, std::string_view orchestrator_id,
                                    std::string_view operation) const;
  // llm.<provider>.<model>; a CLIENT span with the GenAI request attributes.
  StartedSpan StartLlmSpan(const trace::Context& parent, std::string_view provider,
                           std::string_view model, std::string_view operation = "chat") const;
  // tool.<name>
  StartedSpan StartToolSpan(const trace::Context& parent, std::string_view tool_name) const;
  // storage.<operation>
  StartedSpan StartStorageSpan(const trace::Context& parent, std::string_view operation,
                               std::string_view system = {}) const;

  trace::Tracer& raw() const { return *tracer_; }

 private:
  std::shared_ptr<trace::Tracer> keep_alive_;
  trace::Tracer* tracer_;
};

// Ends `span`. A non-OK `error` sets ERROR with its message and records an exception event;
// an OK one leaves the status as it is (never overwriting an ERROR, unlike the seed's Go code).
void EndSpan(trace::Span& span, const Status& error = Status::Ok());

// Builds the provider the config describes (exporters, sampler, batch processor) and installs
// it as the global one. An exporter that is unknown or not built in is an error naming it.
// `extra_processors` are added beside the configured exporters (e.g. an in-memory exporter
// that `minion run` prints the trace tree from).
Status InitGlobalTracer(const TracingConfig& config,
                        std::vector<std::unique_ptr<sdk::SpanProcessor>> extra_processors = {});
// The sampler TracingConfig describes (exposed for tests and for the runtime's own providers).
Result<std::unique_ptr<sdk::Sampler>> MakeSampler(const TracingConfig& config);
// One exporter by name, as InitGlobalTracer builds it.
Result<std::unique_ptr<sdk::SpanExporter>> MakeExporter(std::string_view name, const TracingConfig& config);
// The global tracer; a no-op tracer before InitGlobalTracer (never null).
Tracer GetTracer();
// Flushes and shuts down the global provider within `timeout`; idempotent.
Status ShutdownTracer(std::chrono::milliseconds timeout = std::chrono::seconds(10));
// The provider InitGlobalTracer built (null before, or when tracing is disabled).
std::shared_ptr<sdk::TracerProvider> GlobalSdkProvider();

// Global convenience wrappers over GetTracer().
StartedSpan StartMultiAgentTaskSpan(const trace::Context& parent, std::string_view task_id,
                                    std::string_view task_name, std::string_view task_type,
                                    int priority);
StartedSpan StartWorkerSpan(const trace::Context& parent, std::string_view worker_id,
                            std::string_view capability, std::string_view task_id);
StartedSpan StartProtocolSpan(const trace::Context& parent, std::string_view operation,
                              std::string_view message_type, std::string_view message_id);
StartedSpan StartOrchestratorSpan(const trace::Context& parent, std::string_view orchestrator_id,
                                  std::string_view operation);

}  // namespace minion::observability
