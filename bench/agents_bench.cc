// Multi-agent runtime costs: in-process send -> handle latency and throughput, and tasks/s
// through the Coordinator with tracing off, at 100% and at 10% sampling (batch processor,
// no-op exporter), for a trivial handler and for a 100 us handler.
//
//   ninja -C build-agents agents_bench && build-agents/bench/agents_bench
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <latch>

#include "minion/agents/coordinator.h"
#include "minion/agents/in_memory_protocol.h"
#include "minion/sdk/batch_span_processor.h"
#include "minion/sdk/sampler.h"
#include "minion/sdk/tracer_provider.h"

namespace {

using namespace minion;

class NullExporter final : public sdk::SpanExporter {
 public:
  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans, std::chrono::milliseconds) noexcept override {
    exported += spans.size();
    return sdk::ExportResult::kSuccess;
  }
  Status Shutdown(std::chrono::milliseconds) noexcept override { return Status::Ok(); }
  std::string Name() const override { return "null"; }
  std::atomic<std::uint64_t> exported{0};
};

// mode 0: tracing off (no-op tracer); 1: 100%; 2: 10% (TraceIdRatioBased).
struct Tracing {
  explicit Tracing(int mode) {
    if (mode == 0) {
      tracer = std::make_shared<observability::Tracer>(std::make_shared<trace::NoopTracer>());
      return;
    }
    sdk::TracerProviderOptions options;
    options.merge_environment_resource = false;
    options.sampler = sdk::MakeParentBasedSampler(mode == 1 ? sdk::MakeAlwaysOnSampler()
                                                            : sdk::MakeTraceIdRatioBasedSampler(0.1));
    sdk::BatchSpanProcessorOptions batch;
    batch.max_queue_size = 65536;
    options.processors.push_back(std::make_unique<sdk::BatchSpanProcessor>(std::make_unique<NullExporter>(), batch));
    provider = sdk::TracerProvider::Create(std::move(options));
    tracer = std::make_shared<observability::Tracer>(provider->GetTracer("bench"));
  }
  ~Tracing() {
    if (provider) provider->Shutdown();
  }
  std::shared_ptr<sdk::TracerProvider> provider;
  std::shared_ptr<observability::Tracer> tracer;
};

const char* ModeName(int mode) { return mode == 0 ? "off" : mode == 1 ? "100%" : "10%"; }

// One message at a time: the time from Send to the handler running on a pool thread and
// signalling back (a round trip of one wake-up each way).
void BM_SendToHandleLatency(benchmark::State& state) {
  Tracing tracing(static_cast<int>(state.range(0)));
  agents::InMemoryProtocolOptions po;
  po.threads = 1;
  po.tracer = tracing.tracer;
  agents::InMemoryProtocol protocol(po);
  std::atomic<std::uint64_t> handled{0};
  (void)protocol.Subscribe("sink", {}, [&](const trace::Context&, agents::Message) {
    handled.fetch_add(1, std::memory_order_release);
    handled.notify_one();
  });
  std::uint64_t expected = 0;
  for (auto _ : state) {
    agents::Message m;
    m.from = "bench";
    m.to = "sink";
    m.type = agents::MessageType::kEvent;
    (void)protocol.Send({}, std::move(m));
    ++expected;
    std::uint64_t seen;
    while ((seen = handled.load(std::memory_order_acquire)) < expected) handled.wait(seen);
  }
  state.SetLabel(std::string("tracing ") + ModeName(static_cast<int>(state.range(0))));
  (void)protocol.Shutdown();
}
// Process CPU time (all threads) is reported too: on a shared, loaded machine wall time
// mostly measures the scheduler, while CPU time measures what the runtime itself costs.
BENCHMARK(BM_SendToHandleLatency)->Arg(0)->Arg(1)->MeasureProcessCPUTime()->UseRealTime();

// Messages in flight back to back: how many sends per second the pool absorbs.
void BM_SendThroughput(benchmark::State& state) {
  Tracing tracing(static_cast<int>(state.range(0)));
  agents::InMemoryProtocolOptions po;
  po.threads = 1;
  po.default_mailbox_capacity = 1 << 20;
  po.tracer = tracing.tracer;
  agents::InMemoryProtocol protocol(po);
  std::atomic<std::uint64_t> handled{0};
  (void)protocol.Subscribe("sink", {}, [&](const trace::Context&, agents::Message) {
    handled.fetch_add(1, std::memory_order_release);
    handled.notify_one();
  });
  constexpr int kBatch = 1000;
  std::uint64_t expected = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      agents::Message m;
      m.from = "bench";
      m.to = "sink";
      m.type = agents::MessageType::kEvent;
      (void)protocol.Send({}, std::move(m));
    }
    expected += kBatch;
    std::uint64_t seen;
    while ((seen = handled.load(std::memory_order_acquire)) < expected) handled.wait(seen);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(expected));
  state.SetLabel(std::string("tracing ") + ModeName(static_cast<int>(state.range(0))));
  (void)protocol.Shutdown();
}
BENCHMARK(BM_SendThroughput)->Arg(0)->Arg(1)->MeasureProcessCPUTime()->UseRealTime();

void Spin(std::chrono::microseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

// Whole tasks through Coordinator -> Orchestrator -> Protocol -> Worker and back.
// range(0): tracing mode; range(1): handler work in microseconds.
void BM_CoordinatorTasks(benchmark::State& state) {
  Tracing tracing(static_cast<int>(state.range(0)));
  const auto work = std::chrono::microseconds(state.range(1));
  agents::CoordinatorOptions options;
  options.tracer = tracing.tracer;
  options.builtin_workers = false;
  options.protocol_options.threads = 2;
  auto coordinator = agents::Coordinator::Create(std::move(options)).value();
  (void)coordinator->CreateWorker({"w", "", {"noop"}, "", 5, {}},
                                  [work](const trace::Context&, const agents::Subtask&) -> Result<nlohmann::json> {
                                    if (work.count() > 0) Spin(work);
                                    return nlohmann::json();
                                  });
  agents::TaskRequest request{"bench", "", "noop", 5, {}};
  std::uint64_t failures = 0;
  for (auto _ : state) {
    auto r = coordinator->ExecuteTask(request);
    failures += !r.ok();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["failures"] = static_cast<double>(failures);
  state.SetLabel(std::string("tracing ") + ModeName(static_cast<int>(state.range(0))) + ", handler " +
                 std::to_string(state.range(1)) + "us");
  (void)coordinator->Shutdown();
}
BENCHMARK(BM_CoordinatorTasks)
    ->Args({0, 0})->Args({1, 0})->Args({2, 0})
    ->Args({0, 100})->Args({1, 100})->Args({2, 100})
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
