#pragma once
// The runtime's span helpers, on top of the trace API only (instrumented code never sees the
// SDK): one Start*Span function per span the seed names, each returning the child Context
// together with the Span (the seed's `ctx, span := ...`), and EndSpan.
//
//   auto [ctx, span] = observability::StartMultiAgentTaskSpan(tracer, parent, id, name, type, 8);
//   Status s = DoWork(ctx);
//   observability::EndSpan(span, s);  // ERROR + exception event on failure; never forces OK
//
// Handing a tracer to a component: every component takes a `std::shared_ptr<trace::Tracer>`
// in its options. Null means the global tracer, GetTracer(), looked up at each span, so a
// component built before the application installs its provider still reports to it. Setting
// up the global tracer (TracingConfig, InitGlobalTracer, ShutdownTracer) is in
// observability/setup.h, which only applications and tests include.
//
// Thread-safe: every function may be called from any thread.

#include <initializer_list>
#include <memory>
#include <string_view>

#include "minion/common/status.h"
#include "minion/observability/attributes.h"
#include "minion/trace/context.h"
#include "minion/trace/span.h"
#include "minion/trace/tracer.h"

namespace minion::observability {

struct StartedSpan {
  trace::Context context;  // pass this to callees: their spans become children
  trace::Span span;
};

// The documented global tracer (instrumentation scope "minion.multiagent"): the one the
// application installed with InitGlobalTracer, else a no-op tracer. Never dangles: a tracer
// that was ever global stays alive until the process exits.
trace::Tracer& GetTracer() noexcept;

// `tracer` when set, else GetTracer(): how a component resolves the tracer from its options.
inline trace::Tracer& TracerOrGlobal(const std::shared_ptr<trace::Tracer>& tracer) noexcept {
  return tracer ? *tracer : GetTracer();
}

// A span named `name` under `parent`, labelled with `component` (kAttrComponent).
StartedSpan StartSpan(trace::Tracer& tracer, const trace::Context& parent, std::string_view name,
                      Component component,
                      std::initializer_list<trace::KeyValueView> attributes = {},
                      trace::SpanKind kind = trace::SpanKind::kInternal);

// multiagent.task.<type>
StartedSpan StartMultiAgentTaskSpan(trace::Tracer& tracer, const trace::Context& parent,
                                    std::string_view task_id, std::string_view task_name,
                                    std::string_view task_type, int priority);
// worker.<capability>; a CONSUMER span (it handles a message).
StartedSpan StartWorkerSpan(trace::Tracer& tracer, const trace::Context& parent,
                            std::string_view worker_id, std::string_view capability,
                            std::string_view task_id);
// protocol.<operation>; "send" is a PRODUCER span, "receive" a CONSUMER one.
StartedSpan StartProtocolSpan(trace::Tracer& tracer, const trace::Context& parent,
                              std::string_view operation, std::string_view message_type,
                              std::string_view message_id);
// orchestrator.<operation>
StartedSpan StartOrchestratorSpan(trace::Tracer& tracer, const trace::Context& parent,
                                  std::string_view orchestrator_id, std::string_view operation);
// llm.<provider>.<model>; a CLIENT span with the GenAI request attributes.
StartedSpan StartLlmSpan(trace::Tracer& tracer, const trace::Context& parent,
                         std::string_view provider, std::string_view model,
                         std::string_view operation = "chat");
// tool.<name>
StartedSpan StartToolSpan(trace::Tracer& tracer, const trace::Context& parent,
                          std::string_view tool_name);
// storage.<operation>; a CLIENT span.
StartedSpan StartStorageSpan(trace::Tracer& tracer, const trace::Context& parent,
                             std::string_view operation, std::string_view system = {});

// The seed's four helpers on the global tracer.
StartedSpan StartMultiAgentTaskSpan(const trace::Context& parent, std::string_view task_id,
                                    std::string_view task_name, std::string_view task_type,
                                    int priority);
StartedSpan StartWorkerSpan(const trace::Context& parent, std::string_view worker_id,
                            std::string_view capability, std::string_view task_id);
StartedSpan StartProtocolSpan(const trace::Context& parent, std::string_view operation,
                              std::string_view message_type, std::string_view message_id);
StartedSpan StartOrchestratorSpan(const trace::Context& parent, std::string_view orchestrator_id,
                                  std::string_view operation);

// Ends `span`. A non-OK `error` sets ERROR with its message and records an exception event;
// an OK one leaves the status as it is (never overwriting an ERROR, unlike the seed's Go code).
void EndSpan(trace::Span& span, const Status& error = Status::Ok());

}  // namespace minion::observability
