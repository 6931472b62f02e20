// Span start+end costs, in the shapes of ../shared/ANCHORS.md: a real provider, a real
// BatchSpanProcessor (queue 65536, its export thread running) and a no-op exporter. Drops are
// reported as a counter next to the time: a fast span that is dropped is not a fast span.
#include <benchmark/benchmark.h>

#include <type_traits>

#include "minion/sdk/batch_span_processor.h"
#include "minion/sdk/tracer_provider.h"

namespace {

using namespace minion;

class NoopExporter final : public sdk::SpanExporter {
 public:
  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans,
                           std::chrono::milliseconds) noexcept override {
    benchmark::DoNotOptimize(spans.data());
    return sdk::ExportResult::kSuccess;
  }
  Status Shutdown(std::chrono::milliseconds) noexcept override { return Status::Ok(); }
  std::string Name() const override { return "noop"; }
};

struct Pipeline {
  std::shared_ptr<sdk::TracerProvider> provider;
  std::shared_ptr<trace::Tracer> tracer;
  sdk::BatchSpanProcessor* processor;

  explicit Pipeline(std::unique_ptr<sdk::Sampler> sampler) {
    sdk::BatchSpanProcessorOptions o;
    o.max_queue_size = 65536;
    auto bsp = std::make_unique<sdk::BatchSpanProcessor>(std::make_unique<NoopExporter>(), o);
    processor = bsp.get();
    sdk::TracerProviderOptions po;
    po.processors.push_back(std::move(bsp));
    po.sampler = std::move(sampler);
    po.merge_environment_resource = false;
    provider = sdk::TracerProvider::Create(std::move(po));
    tracer = provider->GetTracer("bench");
  }
};

void ReportDrops(benchmark::State& state, sdk::BatchSpanProcessor& p,
                 std::uint64_t dropped_before) {
  state.counters["dropped"] = static_cast<double>(p.stats().dropped - dropped_before);
}

// One pipeline per benchmark function, shared by its threads: thread 0 builds it on first use
// and the others wait for it. `Tag` tells the functions' pipelines apart.
template <typename Tag>
Pipeline& SharedPipeline(benchmark::State& state, std::unique_ptr<sdk::Sampler> (*make_sampler)()) {
  static Pipeline* pipeline = nullptr;
  if (state.thread_index() == 0 && __atomic_load_n(&pipeline, __ATOMIC_ACQUIRE) == nullptr)
    __atomic_store_n(&pipeline, new Pipeline(make_sampler()), __ATOMIC_RELEASE);
  while (__atomic_load_n(&pipeline, __ATOMIC_ACQUIRE) == nullptr) {
  }
  return *pipeline;
}

std::unique_ptr<sdk::Sampler> AlwaysOn() { return sdk::MakeAlwaysOnSampler(); }
std::unique_ptr<sdk::Sampler> AlwaysOff() { return sdk::MakeAlwaysOffSampler(); }
std::unique_ptr<sdk::Sampler> Ratio10() { return sdk::MakeTraceIdRatioBasedSampler(0.1); }

void BM_SpanStartEnd_NoAttributes(benchmark::State& state) {
  Pipeline& p = SharedPipeline<struct NoAttributes>(state, AlwaysOn);
  const auto dropped_before = p.processor->stats().dropped;
  for (auto _ : state) {
    trace::Span span = p.tracer->StartSpan("span");
    span.End();
  }
  if (state.thread_index() == 0) ReportDrops(state, *p.processor, dropped_before);
  state.SetItemsProcessed(state.iterations());
}

template <std::unique_ptr<sdk::Sampler> (*kMakeSampler)()>
void SpanWithFiveAttributes(benchmark::State& state) {
  Pipeline& p = SharedPipeline<std::integral_constant<decltype(kMakeSampler), kMakeSampler>>(
      state, kMakeSampler);
  const auto dropped_before = p.processor->stats().dropped;
  for (auto _ : state) {
    trace::Span span = p.tracer->StartSpan("worker.code_generation");
    span.SetAttribute("multiagent.worker.id", "worker-789");
    span.SetAttribute("multiagent.worker.capability", "code_generation");
    span.SetAttribute("multiagent.task.id", "abc-123");
    span.SetAttribute("multiagent.task.priority", 8);
    span.SetAttribute("ok", true);
    span.End();
  }
  if (state.thread_index() == 0) ReportDrops(state, *p.processor, dropped_before);
  state.SetItemsProcessed(state.iterations());
}

void BM_SpanStartEnd_FiveAttributes(benchmark::State& state) {
  SpanWithFiveAttributes<AlwaysOn>(state);
}
void BM_SpanUnsampled_FiveAttributes(benchmark::State& state) {
  SpanWithFiveAttributes<AlwaysOff>(state);
}
void BM_SpanRatio10_FiveAttributes(benchmark::State& state) {
  SpanWithFiveAttributes<Ratio10>(state);
}

// The same attributes passed at start (what the seed's Start*Span helpers do).
void BM_SpanStartEnd_FiveAttributesAtStart(benchmark::State& state) {
  Pipeline& p = SharedPipeline<struct FiveAttributesAtStart>(state, AlwaysOn);
  const auto dropped_before = p.processor->stats().dropped;
  for (auto _ : state) {
    trace::Span span = p.tracer->StartSpan("worker.code_generation",
                                           {{"multiagent.worker.id", "worker-789"},
                                            {"multiagent.worker.capability", "code_generation"},
                                            {"multiagent.task.id", "abc-123"},
                                            {"multiagent.task.priority", 8},
                                            {"ok", true}});
    span.End();
  }
  if (state.thread_index() == 0) ReportDrops(state, *p.processor, dropped_before);
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_SpanStartEnd_NoAttributes)->Threads(1);
BENCHMARK(BM_SpanStartEnd_FiveAttributes)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_SpanStartEnd_FiveAttributesAtStart)->Threads(1);
BENCHMARK(BM_SpanUnsampled_FiveAttributes)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_SpanRatio10_FiveAttributes)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
