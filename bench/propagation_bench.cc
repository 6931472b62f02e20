// Propagation benchmarks. Shapes mirror /work/shared/ANCHORS.md: inject a sampled span context
// into a std::map<std::string, std::string> that is reused across iterations (as the anchor
// does), and extract from a prefilled map into a fresh Context.
//
//   propagation_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <map>
#include <string>

#include "minion/propagation/b3.h"
#include "minion/propagation/baggage.h"
#include "minion/propagation/carriers.h"
#include "minion/propagation/from_env.h"
#include "minion/propagation/jaeger.h"
#include "minion/propagation/trace_context.h"

namespace minion::propagation {
namespace {

trace::SpanContext SampleSpanContext() {
  return trace::SpanContext(*trace::TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736"),
                            *trace::SpanId::FromHex("00f067aa0ba902b7"), trace::TraceFlags(1),
                            /*is_remote=*/false);
}

constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

void InjectInto(benchmark::State& state, const trace::TextMapPropagator& propagator,
                const trace::Context& context) {
  std::map<std::string, std::string> headers;
  for (auto _ : state) {
    MapCarrier carrier(headers);
    propagator.Inject(context, carrier);
    benchmark::DoNotOptimize(headers);
    benchmark::ClobberMemory();
  }
  // Guard against measuring nothing: the header must really be there.
  if (headers.empty()) state.SkipWithError("propagator injected nothing");
}

void ExtractFrom(benchmark::State& state, const trace::TextMapPropagator& propagator,
                 const std::map<std::string, std::string>& headers) {
  const trace::Context empty;
  bool valid = true;
  for (auto _ : state) {
    MapCarrier carrier(headers);
    trace::Context context = propagator.Extract(carrier, empty);
    benchmark::DoNotOptimize(context);
    valid &= context.HasSpan() || context.baggage_ptr() != nullptr;
  }
  if (!valid) state.SkipWithError("extraction failed");
}

// --- W3C traceparent: the anchored shapes ---------------------------------------------------

void BM_TraceParentInjectMap(benchmark::State& state) {
  InjectInto(state, W3CTraceContextPropagator(), trace::Context(SampleSpanContext()));
}
BENCHMARK(BM_TraceParentInjectMap);

void BM_TraceParentExtractMap(benchmark::State& state) {
  ExtractFrom(state, W3CTraceContextPropagator(), {{"traceparent", kTraceparent}});
}
BENCHMARK(BM_TraceParentExtractMap);

// Extract from a map that also holds unrelated headers, as a real request would.
void BM_TraceParentExtractMapWithOtherHeaders(benchmark::State& state) {
  ExtractFrom(state, W3CTraceContextPropagator(),
              {{"traceparent", kTraceparent},
               {"content-type", "application/json"},
               {"user-agent", "minion/0.1"},
               {"accept", "*/*"},
               {"host", "127.0.0.1:8080"},
               {"x-request-id", "f6d1f1c3-7f5c-4d2b-9d1c-0a2f3b4c5d6e"}});
}
BENCHMARK(BM_TraceParentExtractMapWithOtherHeaders);

// The free functions the messaging layer calls directly.
void BM_ParseTraceParent(benchmark::State& state) {
  std::string value = kTraceparent;
  trace::SpanContext out;
  for (auto _ : state) {
    benchmark::DoNotOptimize(value.data());
    bool ok = ParseTraceParent(value, &out);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_ParseTraceParent);

void BM_FormatTraceParent(benchmark::State& state) {
  trace::SpanContext sc = SampleSpanContext();
  char out[kTraceParentSize];
  for (auto _ : state) {
    benchmark::DoNotOptimize(&sc);
    FormatTraceParent(sc, out);
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_FormatTraceParent);

// --- Composite default (tracecontext + baggage) and the other formats ------------------------

void BM_DefaultPropagatorInjectMap(benchmark::State& state) {
  InjectInto(state, DefaultPropagator(), trace::Context(SampleSpanContext()));
}
BENCHMARK(BM_DefaultPropagatorInjectMap);

void BM_DefaultPropagatorExtractMap(benchmark::State& state) {
  ExtractFrom(state, DefaultPropagator(), {{"traceparent", kTraceparent}});
}
BENCHMARK(BM_DefaultPropagatorExtractMap);

void BM_TraceParentWithTraceStateExtractMap(benchmark::State& state) {
  ExtractFrom(
      state, W3CTraceContextPropagator(),
      {{"traceparent", kTraceparent}, {"tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"}});
}
BENCHMARK(BM_TraceParentWithTraceStateExtractMap);

void BM_BaggageInjectMap3(benchmark::State& state) {
  trace::Context ctx = trace::Context(SampleSpanContext())
                           .WithBaggage(trace::Baggage()
                                            .Set("multiagent.task.id", "task-42")
                                            .Set("user.id", "alice smith")
                                            .Set("tenant", "t1", "ttl=30"));
  InjectInto(state, W3CBaggagePropagator(), ctx);
}
BENCHMARK(BM_BaggageInjectMap3);

void BM_BaggageExtractMap3(benchmark::State& state) {
  ExtractFrom(state, W3CBaggagePropagator(),
              {{"baggage", "multiagent.task.id=task-42,user.id=alice%20smith,tenant=t1;ttl=30"}});
}
BENCHMARK(BM_BaggageExtractMap3);

// The largest header the limits admit (180 entries): bounds what a hostile peer can cost us.
void BM_BaggageExtractMap180(benchmark::State& state) {
  std::string header;
  for (int i = 0; i < 180; ++i) {
    header += (i ? "," : "") + ("key" + std::to_string(i)) + "=value" + std::to_string(i);
  }
  ExtractFrom(state, W3CBaggagePropagator(), {{"baggage", header}});
}
BENCHMARK(BM_BaggageExtractMap180);

void BM_B3SingleInjectMap(benchmark::State& state) {
  InjectInto(state, B3Propagator(), trace::Context(SampleSpanContext()));
}
BENCHMARK(BM_B3SingleInjectMap);

void BM_B3SingleExtractMap(benchmark::State& state) {
  ExtractFrom(state, B3Propagator(),
              {{"b3", "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"}});
}
BENCHMARK(BM_B3SingleExtractMap);

void BM_B3MultiExtractMap(benchmark::State& state) {
  ExtractFrom(state, B3Propagator(B3Propagator::Encoding::kMultiHeader),
              {{"X-B3-TraceId", "4bf92f3577b34da6a3ce929d0e0e4736"},
               {"X-B3-SpanId", "00f067aa0ba902b7"},
               {"X-B3-Sampled", "1"}});
}
BENCHMARK(BM_B3MultiExtractMap);

void BM_JaegerExtractMap(benchmark::State& state) {
  ExtractFrom(state, JaegerPropagator(),
              {{"uber-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:01"}});
}
BENCHMARK(BM_JaegerExtractMap);

}  // namespace
}  // namespace minion::propagation

BENCHMARK_MAIN();
