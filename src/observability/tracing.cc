#include "minion/observability/tracing.h"

#include "minion/common/text.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "observability/global.h"

namespace minion::observability {

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
  std::string_view view() { return view_; }

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

StartedSpan StartSpan(trace::Tracer& tracer, const trace::Context& parent, std::string_view name,
                      Component component, std::initializer_list<trace::KeyValueView> attributes,
                      trace::SpanKind kind) {
  trace::SpanStartOptions options;
  options.kind = kind;
  options.parent = &parent;
  trace::Span span = tracer.StartSpan(name, attributes, options);
  span.SetAttribute(kAttrComponent, ComponentName(component));
  return Started(parent, std::move(span));
}

StartedSpan StartMultiAgentTaskSpan(trace::Tracer& tracer, const trace::Context& parent,
                                    std::string_view task_id, std::string_view task_name,
                                    std::string_view task_type, int priority) {
  SpanName name(kSpanMultiAgentTaskPrefix, task_type);
  return StartSpan(tracer, parent, name.view(), Component::kMultiAgent,
                   {{kAttrTaskID, task_id},
                    {kAttrTaskName, task_name},
                    {kAttrTaskType, task_type},
                    {kAttrTaskPriority, priority}});
}

StartedSpan StartWorkerSpan(trace::Tracer& tracer, const trace::Context& parent,
                            std::string_view worker_id, std::string_view capability,
                            std::string_view task_id) {
  SpanName name(kSpanWorkerPrefix, capability);
  return StartSpan(
      tracer, parent, name.view(), Component::kWorker,
      {{kAttrWorkerID, worker_id}, {kAttrWorkerCapability, capability}, {kAttrTaskID, task_id}},
      trace::SpanKind::kConsumer);
}

StartedSpan StartProtocolSpan(trace::Tracer& tracer, const trace::Context& parent,
                              std::string_view operation, std::string_view message_type,
                              std::string_view message_id) {
  SpanName name(kSpanProtocolPrefix, operation);
  const trace::SpanKind kind = operation == "send"      ? trace::SpanKind::kProducer
                               : operation == "receive" ? trace::SpanKind::kConsumer
                                                        : trace::SpanKind::kInternal;
  return StartSpan(
      tracer, parent, name.view(), Component::kProtocol,
      {{kAttrOperation, operation}, {kAttrMessageType, message_type}, {kAttrMessageID, message_id}},
      kind);
}

StartedSpan StartOrchestratorSpan(trace::Tracer& tracer, const trace::Context& parent,
                                  std::string_view orchestrator_id, std::string_view operation) {
  SpanName name(kSpanOrchestratorPrefix, operation);
  return StartSpan(tracer, parent, name.view(), Component::kMultiAgent,
                   {{kAttrOrchestratorID, orchestrator_id}, {kAttrOperation, operation}});
}

StartedSpan StartLlmSpan(trace::Tracer& tracer, const trace::Context& parent,
                         std::string_view provider, std::string_view model,
                         std::string_view operation) {
  SpanName name(kSpanLlmPrefix, provider, std::string(".") + std::string(model));
  return StartSpan(tracer, parent, name.view(), Component::kLlm,
                   {{kAttrGenAiOperationName, operation},
                    {kAttrGenAiProviderName, provider},
                    {kAttrGenAiRequestModel, model}},
                   trace::SpanKind::kClient);
}

StartedSpan StartToolSpan(trace::Tracer& tracer, const trace::Context& parent,
                          std::string_view tool_name) {
  SpanName name(kSpanToolPrefix, tool_name);
  return StartSpan(tracer, parent, name.view(), Component::kTool,
                   {{kAttrGenAiOperationName, "execute_tool"}, {kAttrGenAiToolName, tool_name}});
}

StartedSpan StartStorageSpan(trace::Tracer& tracer, const trace::Context& parent,
                             std::string_view operation, std::string_view system) {
  SpanName name(kSpanStoragePrefix, operation);
  StartedSpan started = StartSpan(tracer, parent, name.view(), Component::kStorage,
                                  {{kAttrDbOperationName, operation}}, trace::SpanKind::kClient);
  if (!system.empty()) started.span.SetAttribute(kAttrDbSystemName, system);
  return started;
}

void EndSpan(trace::Span& span, const Status& error) {
  if (!error.ok()) {
    // Exported: bounded and without URL credentials, like every printed error (Status::ToString).
    span.RecordException(StatusCodeName(error.code()),
                         text::Truncate(text::RedactUrls(error.message())));
    span.SetStatus(trace::SpanStatusCode::kError, error.ToString());
  }
  span.End();
}

// ---- global tracer ----

namespace {

struct GlobalTracer {
  std::mutex mu;
  // Lock-free read path for GetTracer(). Tracers that were ever current stay alive in
  // `retired` so a concurrent reader never holds a dangling reference.
  std::atomic<trace::Tracer*> current{nullptr};
  std::vector<std::shared_ptr<trace::Tracer>> retired;  // guarded by mu
};

GlobalTracer& Global() {
  static GlobalTracer* state = new GlobalTracer();  // leaked: spans may end during exit
  return *state;
}

void SetCurrentLocked(GlobalTracer& g, std::shared_ptr<trace::Tracer> tracer) {
  if (!tracer) tracer = trace::GetGlobalTracerProvider()->GetTracer(internal::kInstrumentationName);
  g.retired.push_back(tracer);
  g.current.store(tracer.get(), std::memory_order_release);
}

}  // namespace

void internal::SetGlobalTracer(std::shared_ptr<trace::Tracer> tracer) {
  GlobalTracer& g = Global();
  std::lock_guard<std::mutex> lock(g.mu);
  SetCurrentLocked(g, std::move(tracer));
}

trace::Tracer& GetTracer() noexcept {
  GlobalTracer& g = Global();
  trace::Tracer* t = g.current.load(std::memory_order_acquire);
  if (t != nullptr) return *t;
  std::lock_guard<std::mutex> lock(g.mu);
  t = g.current.load(std::memory_order_relaxed);
  if (t == nullptr) {
    SetCurrentLocked(g, nullptr);
    t = g.current.load(std::memory_order_relaxed);
  }
  return *t;
}

StartedSpan StartMultiAgentTaskSpan(const trace::Context& parent, std::string_view task_id,
                                    std::string_view task_name, std::string_view task_type,
                                    int priority) {
  return StartMultiAgentTaskSpan(GetTracer(), parent, task_id, task_name, task_type, priority);
}
StartedSpan StartWorkerSpan(const trace::Context& parent, std::string_view worker_id,
                            std::string_view capability, std::string_view task_id) {
  return StartWorkerSpan(GetTracer(), parent, worker_id, capability, task_id);
}
StartedSpan StartProtocolSpan(const trace::Context& parent, std::string_view operation,
                              std::string_view message_type, std::string_view message_id) {
  return StartProtocolSpan(GetTracer(), parent, operation, message_type, message_id);
}
StartedSpan StartOrchestratorSpan(const trace::Context& parent, std::string_view orchestrator_id,
                                  std::string_view operation) {
  return StartOrchestratorSpan(GetTracer(), parent, orchestrator_id, operation);
}

}  // namespace minion::observability
