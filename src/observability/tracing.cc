#include "minion/observability/tracing.h"

#include "minion/common/text.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>
#include <string>

#include "minion/common/env.h"
#include "minion/sdk/batch_span_processor.h"
#include "minion/sdk/tracer_provider.h"
#include "observability/global.h"

namespace minion::observability {

std::string_view ComponentName(Component component) {
  switch (component) {
    case Component::kMultiAgent: return "multiagent";
    case Component::kWorker: return "worker";
    case Component::kProtocol: return "protocol";
    case Component::kLlm: return "llm";
    case Component::kTool: return "tool";
    case Component::kStorage: return "storage";
  }
  return "multiagent";
}

namespace {

// Builds "<prefix><suffix>" on the stack for short names (the common case), else on the heap.
class SpanName {
 public:
  SpanName(std::string_view a, std::string_view b, std::string_view c = {}) {
    const std::size_t n = a.size() + b.size() + c.size();
    if (n > sizeof buf_) {
      heap_.reserve(n);
      heap_.append(a).append(b).append(c);
      view_ = heap_;
      return;
    }
    char* p = buf_;
    for (auto part : {a, b, c}) {
      std::copy(part.begin(), part.end(), p);
      p += part.size();
    }
    view_ = std::string_view(buf_, n);
  }
  std::string_view view() const { return view_; }

 private:
  char buf_[128];
  std::string heap_;
  std::string_view view_;
};

StartedSpan Started(const trace::Context& parent, trace::Span span) {
  trace::Context ctx = parent.WithSpan(span);
  return StartedSpan{std::move(ctx), std::move(span)};
}

}  // namespace

StartedSpan Tracer::StartSpan(const trace::Context& parent, std::string_view name, Component component,
                              std::initializer_list<trace::KeyValueView> attributes, trace::SpanKind kind) const {
  trace::SpanStartOptions options;
  options.kind = kind;
  options.parent = &parent;
  trace::Span span = tracer_->StartSpan(name, attributes, options);
  span.SetAttribute(kAttrComponent, ComponentName(component));
  return Started(parent, std::move(span));
}

StartedSpan Tracer::StartMultiAgentTaskSpan(const trace::Context& parent, std::string_view task_id,
                                            std::string_view task_name, std::string_view task_type,
                                            int priority) const {
  SpanName name("multiagent.task.", task_type);
  return StartSpan(parent, name.view(), Component::kMultiAgent,
                   {{kAttrTaskID, task_id},
                    {kAttrTaskName, task_name},
                    {kAttrTaskType, task_type},
                    {kAttrTaskPriority, priority}});
}

StartedSpan Tracer::StartWorkerSpan(const trace::Context& parent, std::string_view worker_id,
                                    std::string_view capability, std::string_view task_id) const {
  SpanName name("worker.", capability);
  return StartSpan(parent, name.view(), Component::kWorker,
                   {{kAttrWorkerID, worker_id}, {kAttrWorkerCapability, capability}, {kAttrTaskID, task_id}},
                   trace::SpanKind::kConsumer);
}

StartedSpan Tracer::StartProtocolSpan(const trace::Context& parent, std::string_view operation,
                                      std::string_view message_type, std::string_view message_id) const {
  SpanName name("protocol.", operation);
  const trace::SpanKind kind = operation == "send"      ? trace::SpanKind::kProducer
                               : operation == "receive" ? trace::SpanKind::kConsumer
                                                        : trace::SpanKind::kInternal;
  return StartSpan(parent, name.view(), Component::kProtocol,
                   {{kAttrOperation, operation}, {kAttrMessageType, message_type}, {kAttrMessageID, message_id}},
                   kind);
}

StartedSpan Tracer::StartOrchestratorSpan(const trace::Context& parent, std::string_view orchestrator_id,
                                          std::string_view operation) const {
  SpanName name("orchestrator.", operation);
  return StartSpan(parent, name.view(), Component::kMultiAgent,
                   {{kAttrOrchestratorID, orchestrator_id}, {kAttrOperation, operation}});
}

StartedSpan Tracer::StartLlmSpan(const trace::Context& parent, std::string_view provider, std::string_view model,
                                 std::string_view operation) const {
  SpanName name("llm.", provider, std::string(".") + std::string(model));
  return StartSpan(parent, name.view(), Component::kLlm,
                   {{"gen_ai.operation.name", operation},
                    {"gen_ai.provider.name", provider},
                    {"gen_ai.request.model", model}},
                   trace::SpanKind::kClient);
}

StartedSpan Tracer::StartToolSpan(const trace::Context& parent, std::string_view tool_name) const {
  SpanName name("tool.", tool_name);
  return StartSpan(parent, name.view(), Component::kTool,
                   {{"gen_ai.operation.name", "execute_tool"}, {"gen_ai.tool.name", tool_name}});
}

StartedSpan Tracer::StartStorageSpan(const trace::Context& parent, std::string_view operation,
                                     std::string_view system) const {
  SpanName name("storage.", operation);
  StartedSpan started = StartSpan(parent, name.view(), Component::kStorage, {{"db.operation.name", operation}},
                                  trace::SpanKind::kClient);
  if (!system.empty()) started.span.SetAttribute("db.system.name", system);
  return started;
}

void EndSpan(trace::Span& span, const Status& error) {
  if (!error.ok()) {
    // Exported: bounded and without URL credentials, like every printed error (Status::ToString).
    span.RecordException(StatusCodeName(error.code()), text::Truncate(text::RedactUrls(error.message())));
    span.SetStatus(trace::SpanStatusCode::kError, error.ToString());
  }
  span.End();
}

// ---- global tracer ----

namespace {

struct GlobalState {
  std::mutex mu;
  std::shared_ptr<sdk::TracerProvider> provider;  // guarded by mu
  std::shared_ptr<trace::Tracer> tracer;          // guarded by mu
  // Lock-free read path for the global Start*Span wrappers. Tracers that were ever current
  // stay alive in `retired` so a concurrent reader never holds a dangling pointer.
  std::atomic<trace::Tracer*> current{nullptr};
  std::vector<std::shared_ptr<trace::Tracer>> retired;  // guarded by mu
};

GlobalState& Global() {
  static GlobalState* state = new GlobalState();  // leaked: spans may end during exit
  return *state;
}

constexpr std::string_view kInstrumentationName = "minion.multiagent";

void SetCurrentLocked(GlobalState& g, std::shared_ptr<trace::Tracer> tracer) {
  if (!tracer) tracer = trace::GetGlobalTracerProvider()->GetTracer(kInstrumentationName);
  g.tracer = tracer;
  g.retired.push_back(tracer);
  g.current.store(tracer.get(), std::memory_order_release);
}

trace::Tracer* CurrentTracer() {
  GlobalState& g = Global();
  trace::Tracer* t = g.current.load(std::memory_order_acquire);
  if (t != nullptr) return t;
  std::lock_guard<std::mutex> lock(g.mu);
  if (!g.tracer) SetCurrentLocked(g, nullptr);
  return g.tracer.get();
}

}  // namespace

Tracer GetTracer() { return Tracer(CurrentTracer()); }

StartedSpan StartMultiAgentTaskSpan(const trace::Context& parent, std::string_view task_id,
                                    std::string_view task_name, std::string_view task_type, int priority) {
  return GetTracer().StartMultiAgentTaskSpan(parent, task_id, task_name, task_type, priority);
}
StartedSpan StartWorkerSpan(const trace::Context& parent, std::string_view worker_id, std::string_view capability,
                            std::string_view task_id) {
  return GetTracer().StartWorkerSpan(parent, worker_id, capability, task_id);
}
StartedSpan StartProtocolSpan(const trace::Context& parent, std::string_view operation,
                              std::string_view message_type, std::string_view message_id) {
  return GetTracer().StartProtocolSpan(parent, operation, message_type, message_id);
}
StartedSpan StartOrchestratorSpan(const trace::Context& parent, std::string_view orchestrator_id,
                                  std::string_view operation) {
  return GetTracer().StartOrchestratorSpan(parent, orchestrator_id, operation);
}

std::shared_ptr<sdk::TracerProvider> GlobalSdkProvider() {
  GlobalState& g = Global();
  std::lock_guard<std::mutex> lock(g.mu);
  return g.provider;
}

Status ShutdownTracer(std::chrono::milliseconds timeout) {
  GlobalState& g = Global();
  std::shared_ptr<sdk::TracerProvider> provider;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    provider = std::move(g.provider);
    trace::SetGlobalTracerProvider(nullptr);
    SetCurrentLocked(g, nullptr);
  }
  if (provider && !provider->Shutdown(timeout))
    return DeadlineExceededError("tracer shutdown did not complete within " + std::to_string(timeout.count()) + " ms");
  return Status::Ok();
}

Status InstallProvider(std::shared_ptr<sdk::TracerProvider> provider) {
  GlobalState& g = Global();
  std::shared_ptr<sdk::TracerProvider> previous;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    previous = std::move(g.provider);
    g.provider = provider;
    trace::SetGlobalTracerProvider(provider);
    SetCurrentLocked(g, provider ? provider->GetTracer(kInstrumentationName, MINION_VERSION) : nullptr);
  }
  if (previous) previous->Shutdown(std::chrono::seconds(5));
  return Status::Ok();
}

}  // namespace minion::observability
