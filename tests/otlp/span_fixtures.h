#pragma once
// Spans with every field OTLP carries set to a distinctive value, shared by the encoder unit
// tests, the HTTP exporter interop test and the benchmarks.

#include <memory>
#include <string>
#include <vector>

#include "minion/trace/span_data.h"

namespace minion::otlp::testing {

inline trace::TraceId TraceIdFrom(std::string_view hex) { return *trace::TraceId::FromHex(hex); }
inline trace::SpanId SpanIdFrom(std::string_view hex) { return *trace::SpanId::FromHex(hex); }

// Owns the resource and scopes the spans point to (as a TracerProvider would).
struct Fixture {
  trace::Resource resource;
  trace::InstrumentationScope scope;
  trace::InstrumentationScope other_scope;

  Fixture() {
    resource.attributes.Set("service.name", "otlp-test");
    resource.attributes.Set("service.instance.id", std::int64_t{42});
    resource.schema_url = "https://opentelemetry.io/schemas/1.24.0";
    scope.name = "minion.test";
    scope.version = "1.2.3";
    scope.schema_url = "https://opentelemetry.io/schemas/1.21.0";
    scope.attributes.Set("scope.attr", true);
    other_scope.name = "minion.other";
  }

  // A child span with a remote parent, all attribute types, two events, two links, an error
  // status, a tracestate and non-zero dropped counts.
  trace::SpanDataPtr RichSpan() const {
    trace::SpanDataPtr s = trace::AcquireSpanData();
    s->trace_id = TraceIdFrom("0af7651916cd43dd8448eb211c80319c");
    s->span_id = SpanIdFrom("b7ad6b7169203331");
    s->parent_span_id = SpanIdFrom("00f067aa0ba902b7");
    s->flags = trace::TraceFlags(0x03);
    s->parent_is_remote = true;
    s->trace_state = std::make_shared<const trace::TraceState>(
        *trace::TraceState::FromHeader("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"));
    s->name = "worker.summarize";
    s->kind = trace::SpanKind::kClient;
    s->start_time = 1'700'000'000'123'456'789ULL;
    s->end_time = 1'700'000'001'987'654'321ULL;
    s->attributes.Set("multiagent.worker.id", "worker-7");
    s->attributes.Set("multiagent.task.priority", std::int64_t{-3});
    s->attributes.Set("big",
                      std::int64_t{9'007'199'254'740'993});  // above 2^53: JSON needs a string
    s->attributes.Set("ratio", 0.25);
    s->attributes.Set("ok", false);
    s->attributes.Set("bools", std::vector<bool>{true, false});
    s->attributes.Set("ints", std::vector<std::int64_t>{1, -2, 300});
    s->attributes.Set("doubles", std::vector<double>{1.5, -0.125});
    s->attributes.Set("strings", std::vector<std::string>{"a", "\"quoted\"\n", ""});
    s->attributes.Set("empty", "");
    // One attribute dropped by a limit of 10 keys.
    (void)s->attributes.Set("over.limit.1", 1, 10);
    (void)s->attributes.Set("over.limit.2", 2, 10);
    trace::SpanEvent e1;
    e1.name = "retry";
    e1.time = 1'700'000'000'500'000'000ULL;
    e1.attributes.Set("attempt", std::int64_t{2});
    (void)e1.attributes.Set("x", 1, 1);
    (void)e1.attributes.Set("y", 2, 1);  // both dropped: limit 1, "attempt" holds it
    s->events.push_back(e1);
    trace::SpanEvent e2;
    e2.name = "done";
    e2.time = 1'700'000'001'000'000'000ULL;
    s->events.push_back(e2);
    s->dropped_events = 3;
    trace::SpanLink l1;
    l1.context = trace::SpanContext(TraceIdFrom("11111111111111111111111111111111"),
                                    SpanIdFrom("2222222222222222"), trace::TraceFlags(0x01),
                                    /*is_remote=*/true,
                                    std::make_shared<const trace::TraceState>(
                                        *trace::TraceState::FromHeader("vendor=linkstate")));
    l1.attributes.Set("link.kind", "follows");
    s->links.push_back(l1);
    trace::SpanLink l2;
    l2.context = trace::SpanContext(TraceIdFrom("33333333333333333333333333333333"),
                                    SpanIdFrom("4444444444444444"), trace::TraceFlags(0x00),
                                    /*is_remote=*/false);
    s->links.push_back(l2);
    s->dropped_links = 5;
    s->status = trace::SpanStatusCode::kError;
    s->status_description = "upstream timed out";
    s->resource = &resource;
    s->scope = &scope;
    return s;
  }

  // A root span with only the required fields, in `other_scope`.
  trace::SpanDataPtr RootSpan() const {
    trace::SpanDataPtr s = trace::AcquireSpanData();
    s->trace_id = TraceIdFrom("5b8efff798038103d269b633813fc60c");
    s->span_id = SpanIdFrom("eee19b7ec3c1b174");
    s->flags = trace::TraceFlags(0x01);
    s->name = "orchestrator.run";
    s->kind = trace::SpanKind::kServer;
    s->start_time = 1'700'000'000'000'000'000ULL;
    s->end_time = 1'700'000'002'000'000'000ULL;
    s->status = trace::SpanStatusCode::kOk;
    s->resource = &resource;
    s->scope = &other_scope;
    return s;
  }

  // The seed's typical span: five attributes (3 strings, 1 int, 1 bool), no events or links.
  trace::SpanDataPtr SeedSpan(std::uint64_t i) const {
    trace::SpanDataPtr s = trace::AcquireSpanData();
    s->trace_id = TraceIdFrom("4bf92f3577b34da6a3ce929d0e0e4736");
    s->span_id.mutable_bytes()[0] = static_cast<std::uint8_t>(i + 1);
    s->span_id.mutable_bytes()[7] = static_cast<std::uint8_t>(i >> 8);
    s->parent_span_id = SpanIdFrom("00f067aa0ba902b7");
    s->flags = trace::TraceFlags(0x01);
    s->name = "worker.summarize";
    s->kind = trace::SpanKind::kInternal;
    s->start_time = 1'700'000'000'000'000'000ULL + i * 1000;
    s->end_time = s->start_time + 250'000;
    s->attributes.Set("multiagent.worker.id", "worker-3");
    s->attributes.Set("multiagent.worker.capability", "summarize");
    s->attributes.Set("multiagent.task.id", "task-000123");
    s->attributes.Set("multiagent.task.priority", std::int64_t{5});
    s->attributes.Set("ok", true);
    s->resource = &resource;
    s->scope = &scope;
    return s;
  }
};

}  // namespace minion::otlp::testing
