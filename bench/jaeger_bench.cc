// Cost of mapping spans to Jaeger Thrift (what JaegerExporter does per span before the POST):
// batches of 512 spans with the 5 anchor attributes, one event and a parent; items are spans.

#include <benchmark/benchmark.h>

#include <vector>

#include "exporters/jaeger/jaeger_thrift.h"

namespace {

using namespace minion;  // NOLINT: benchmark file

void BM_EncodeJaegerBatch(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  trace::Resource resource;
  resource.attributes.Set("service.name", "bench");
  resource.attributes.Set("telemetry.sdk.language", "cpp");
  trace::InstrumentationScope scope{"bench", "1.0", "", {}};
  std::vector<trace::SpanDataPtr> owned;
  std::vector<const trace::SpanData*> spans;
  for (std::size_t i = 0; i < n; ++i) {
    auto s = trace::AcquireSpanData();
    s->trace_id.mutable_bytes()[15] = static_cast<std::uint8_t>(i + 1);
    s->span_id.mutable_bytes()[7] = static_cast<std::uint8_t>(i + 1);
    s->parent_span_id.mutable_bytes()[0] = 1;
    s->flags = trace::TraceFlags(1);
    s->name = "worker.search";
    s->kind = trace::SpanKind::kClient;
    s->start_time = 1'700'000'000'000'000'000ULL;
    s->end_time = s->start_time + 1'234'567;
    s->attributes.Set("multiagent.worker.id", "worker-1");
    s->attributes.Set("multiagent.worker.capability", "search");
    s->attributes.Set("multiagent.task.id", "task-123");
    s->attributes.Set("multiagent.task.priority", 3);
    s->attributes.Set("ok", true);
    s->events.push_back({"tool.called", s->start_time + 10, trace::AttributeList{{"tool", "web"}}});
    s->resource = &resource;
    s->scope = &scope;
    spans.push_back(s.get());
    owned.push_back(std::move(s));
  }
  std::string out;
  for (auto _ : state) {
    out.clear();
    exporters::jaeger::EncodeBatch(&resource, spans, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  state.counters["bytes_per_span"] = static_cast<double>(out.size()) / static_cast<double>(n);
}
BENCHMARK(BM_EncodeJaegerBatch)->Arg(512);

}  // namespace

BENCHMARK_MAIN();
