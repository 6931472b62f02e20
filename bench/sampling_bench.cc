// Per-span cost of TailSamplingProcessor.
//
//   BM_OnEnd_Direct / BM_OnEnd_TailSampling: a span record handed to a no-op downstream
//     directly vs. through the tail sampler (traces of 4 spans: 3 children then the root;
//     ratio 10%, so ~90% of traces are dropped at their root).
//   BM_Span_Batch / BM_Span_TailThenBatch: the whole SDK path (start + 5 attributes + end)
//     into a BatchSpanProcessor (queue 65536, no-op exporter), without and with tail sampling
//     in front; 1 and 2 threads. Items are spans; queue drops and sampler counts are printed
//     on stderr after each run (a fast span that is dropped is not a fast span).

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>

#include "minion/sampling/tail_sampling_processor.h"
#include "minion/sdk/batch_span_processor.h"
#include "minion/sdk/sampler.h"
#include "minion/sdk/tracer_provider.h"

namespace {

using namespace minion;  // NOLINT: benchmark file

class NoopProcessor final : public sdk::SpanProcessor {
 public:
  void OnEnd(trace::SpanDataPtr span) noexcept override { benchmark::DoNotOptimize(span.get()); }
  Status ForceFlush(std::chrono::milliseconds) noexcept override { return Status::Ok(); }
  Status Shutdown(std::chrono::milliseconds) noexcept override { return Status::Ok(); }
};

class NoopExporter final : public sdk::SpanExporter {
 public:
  sdk::ExportResult Export(std::span<const trace::SpanDataPtr>,
                           std::chrono::milliseconds) noexcept override {
    return sdk::ExportResult::kSuccess;
  }
  Status Shutdown(std::chrono::milliseconds) noexcept override { return Status::Ok(); }
  std::string Name() const override { return "noop"; }
};

// Span records shaped like a trace: spans 0..2 are children, span 3 the root.
trace::SpanDataPtr MakeSpan(std::uint64_t n) {
  auto s = trace::AcquireSpanData();
  const std::uint64_t trace_no = n / 4;
  auto& tb = s->trace_id.mutable_bytes();
  for (int i = 0; i < 8; ++i) {
    // splitmix-like spread so ids look random to the ratio rule and the hash
    const std::uint64_t x = (trace_no + 1) * 0x9E3779B97F4A7C15ULL;
    tb[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(x >> (8 * i));
    tb[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>((x ^ (x >> 29)) >> (8 * i));
  }
  s->span_id.mutable_bytes()[0] = static_cast<std::uint8_t>(n | 1);
  if (n % 4 != 3) s->parent_span_id.mutable_bytes()[0] = 1;
  s->flags = trace::TraceFlags(1);
  s->start_time = 1;
  s->end_time = 2;
  return s;
}

void BM_OnEnd_Direct(benchmark::State& state) {
  NoopProcessor p;
  std::uint64_t n = 0;
  for (auto _ : state) p.OnEnd(MakeSpan(n++));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OnEnd_Direct);

void BM_OnEnd_TailSampling(benchmark::State& state) {
  sampling::TailSamplingOptions o;
  o.ratio = 0.1;
  o.check_interval = std::chrono::milliseconds(0);
  sampling::TailSamplingProcessor p(std::make_unique<NoopProcessor>(), o);
  std::uint64_t n = 0;
  for (auto _ : state) p.OnEnd(MakeSpan(n++));
  state.SetItemsProcessed(state.iterations());
  const auto s = p.stats();
  state.counters["kept_traces"] = static_cast<double>(s.traces_kept());
  state.counters["dropped_traces"] = static_cast<double>(s.traces_dropped);
}
BENCHMARK(BM_OnEnd_TailSampling);

struct SdkFixture {
  explicit SdkFixture(bool tail) {
    sdk::BatchSpanProcessorOptions bo;
    bo.max_queue_size = 65536;
    bo.schedule_delay = std::chrono::milliseconds(200);
    auto batch = std::make_unique<sdk::BatchSpanProcessor>(std::make_unique<NoopExporter>(), bo);
    batch_ = batch.get();
    sdk::TracerProviderOptions po;
    po.sampler = sdk::MakeAlwaysOnSampler();
    po.merge_environment_resource = false;
    if (tail) {
      sampling::TailSamplingOptions o;
      o.ratio = 0.1;
      auto t = std::make_unique<sampling::TailSamplingProcessor>(std::move(batch), o);
      tail_ = t.get();
      po.processors.push_back(std::move(t));
    } else {
      po.processors.push_back(std::move(batch));
    }
    provider = sdk::TracerProvider::Create(std::move(po));
    tracer = provider->GetTracer("bench");
  }
  std::shared_ptr<sdk::TracerProvider> provider;
  std::shared_ptr<trace::Tracer> tracer;
  sdk::BatchSpanProcessor* batch_ = nullptr;
  sampling::TailSamplingProcessor* tail_ = nullptr;
};

SdkFixture* g_fixture = nullptr;

// Each iteration is one span; every 4th is a root, the 3 before it its children.
void RunSpans(benchmark::State& state) {
  auto& tracer = *g_fixture->tracer;
  trace::Span root;
  trace::Context ctx;
  trace::SpanStartOptions child_opts;
  trace::SpanStartOptions root_opts;
  root_opts.new_root = true;
  int i = 0;
  for (auto _ : state) {
    if (i == 0) {
      root = tracer.StartSpan("root", root_opts);
      ctx = trace::Context().WithSpan(root);
      child_opts.parent = &ctx;
    }
    if (i < 3) {
      trace::Span s = tracer.StartSpan("child",
                                       {{"multiagent.worker.id", "worker-1"},
                                        {"multiagent.worker.capability", "search"},
                                        {"multiagent.task.id", "task-123"},
                                        {"multiagent.task.priority", 3},
                                        {"ok", true}},
                                       child_opts);
      s.End();
      ++i;
    } else {
      root.SetAttributes({{"multiagent.worker.id", "worker-1"},
                          {"multiagent.worker.capability", "search"},
                          {"multiagent.task.id", "task-123"},
                          {"multiagent.task.priority", 3},
                          {"ok", true}});
      root.End();
      i = 0;
    }
  }
  if (i != 0) root.End();
  state.SetItemsProcessed(state.iterations());
}

// Setup/Teardown run once per benchmark run, outside the timed threads.
void SetupPlain(const benchmark::State&) { g_fixture = new SdkFixture(false); }
void SetupTail(const benchmark::State&) { g_fixture = new SdkFixture(true); }
void Teardown(const benchmark::State& state) {
  g_fixture->provider->ForceFlush(std::chrono::seconds(30));
  const auto bs = g_fixture->batch_->stats();
  std::fprintf(stderr, "  [%s threads=%d] batch enqueued=%llu dropped=%llu",
               g_fixture->tail_ ? "tail" : "plain", state.threads(),
               static_cast<unsigned long long>(bs.enqueued),
               static_cast<unsigned long long>(bs.dropped));
  if (g_fixture->tail_ != nullptr) {
    const auto ts = g_fixture->tail_->stats();
    std::fprintf(stderr, " tail kept_traces=%llu dropped_traces=%llu spans_dropped_memory=%llu",
                 static_cast<unsigned long long>(ts.traces_kept()),
                 static_cast<unsigned long long>(ts.traces_dropped),
                 static_cast<unsigned long long>(ts.spans_dropped_memory));
  }
  std::fprintf(stderr, "\n");
  g_fixture->provider->Shutdown(std::chrono::seconds(30));
  delete g_fixture;
  g_fixture = nullptr;
}

void BM_Span_Batch(benchmark::State& state) { RunSpans(state); }
void BM_Span_TailThenBatch(benchmark::State& state) { RunSpans(state); }

}  // namespace

BENCHMARK(BM_Span_Batch)
    ->Setup(SetupPlain)
    ->Teardown(Teardown)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(BM_Span_TailThenBatch)
    ->Setup(SetupTail)
    ->Teardown(Teardown)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

BENCHMARK_MAIN();
