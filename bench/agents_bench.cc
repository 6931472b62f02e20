// Multi-agent runtime costs: the in-process send -> handle hop (measured at handler entry, as a
// ping-pong between two agents, and as a round trip back to the sender), send throughput with 1
// and 2 producers, and tasks/s through the Coordinator with tracing off, at 100% and at 10%
// sampling (batch processor, no-op exporter), for a trivial handler and for a 100 us handler.
//
//   ninja -C build-agents agents_bench && build-agents/bench/agents_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "minion/agents/coordinator.h"
#include "minion/agents/in_memory_protocol.h"
#include "minion/agents/orchestrator.h"
#include "minion/agents/planner.h"
#include "minion/agents/registry.h"
#include "minion/agents/runtime_builder.h"
#include "minion/agents/worker.h"
#include "minion/sdk/batch_span_processor.h"
#include "minion/sdk/sampler.h"
#include "minion/sdk/tracer_provider.h"

namespace {

using namespace minion;

class NullExporter final : public sdk::SpanExporter {
 public:
  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans,
                           std::chrono::milliseconds) noexcept override {
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
      tracer = std::make_shared<trace::NoopTracer>();
      return;
    }
    sdk::TracerProviderOptions options;
    options.merge_environment_resource = false;
    options.sampler = sdk::MakeParentBasedSampler(
        mode == 1 ? sdk::MakeAlwaysOnSampler() : sdk::MakeTraceIdRatioBasedSampler(0.1));
    sdk::BatchSpanProcessorOptions batch;
    batch.max_queue_size = 65536;
    options.processors.push_back(
        std::make_unique<sdk::BatchSpanProcessor>(std::make_unique<NullExporter>(), batch));
    provider = sdk::TracerProvider::Create(std::move(options));
    tracer = provider->GetTracer("bench");
  }
  ~Tracing() {
    if (provider) provider->Shutdown();
  }
  std::shared_ptr<sdk::TracerProvider> provider;
  std::shared_ptr<trace::Tracer> tracer;
};

const char* ModeName(int mode) { return mode == 0 ? "off" : mode == 1 ? "100%" : "10%"; }

agents::Message EventTo(const char* to) {
  agents::Message m;
  m.from = "bench";
  m.to = to;
  m.type = agents::MessageType::kEvent;
  return m;
}

void WaitFor(const std::atomic<std::uint64_t>& counter, std::uint64_t expected) {
  std::uint64_t seen;
  while ((seen = counter.load(std::memory_order_acquire)) < expected) counter.wait(seen);
}

// Round trip, one message at a time: Send, the handler runs on a pool thread and wakes the
// sender through a futex (atomic notify), the sender returns from its wait. Wall time per round
// trip = one protocol hop + one futex wake-up back to the sender; it is NOT the hop (see
// BM_SendToHandlerEntry and BM_PingPong for that).
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
    (void)protocol.Send({}, EventTo("sink"));
    WaitFor(handled, ++expected);
  }
  state.SetLabel(std::string("round trip, tracing ") + ModeName(static_cast<int>(state.range(0))));
  (void)protocol.Shutdown();
}
// Process CPU time (all threads) is reported too: on a shared, loaded machine wall time
// mostly measures the scheduler, while CPU time measures what the runtime itself costs.
BENCHMARK(BM_SendToHandleLatency)->Arg(0)->Arg(1)->MeasureProcessCPUTime()->UseRealTime();

// One protocol shared by the benchmark's producer threads (->Threads(n)); thread 0 builds it
// before the timed loop (Google Benchmark holds every thread at a barrier until the loop starts)
// and tears it down after. Each producer has its own sink agent and counters, so producers only
// share the protocol itself.
struct SharedProtocol {
  static constexpr int kMaxProducers = 2;
  struct Sink {
    std::atomic<std::uint64_t> handled{0};
    // steady_clock nanoseconds at the handler's first line, for the latest message.
    std::atomic<std::int64_t> entered_ns{0};
  };
  SharedProtocol(int tracing_mode, std::size_t pool_threads, std::size_t mailbox,
                 std::int64_t spin_us = 0)
      : tracing(tracing_mode) {
    agents::InMemoryProtocolOptions po;
    po.threads = pool_threads;
    po.idle_spin_max = std::chrono::microseconds(spin_us);
    po.default_mailbox_capacity = mailbox;
    po.tracer = tracing.tracer;
    protocol = std::make_unique<agents::InMemoryProtocol>(po);
    for (int i = 0; i < kMaxProducers; ++i) {
      Sink* sink = &sinks[i];
      (void)protocol->Subscribe(SinkName(i), {}, [sink](const trace::Context&, agents::Message) {
        sink->entered_ns.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                               std::memory_order_relaxed);
        sink->handled.fetch_add(1, std::memory_order_release);
        sink->handled.notify_one();
      });
    }
  }
  ~SharedProtocol() { (void)protocol->Shutdown(); }
  static const char* SinkName(int i) { return i == 0 ? "sink0" : "sink1"; }

  Tracing tracing;
  std::unique_ptr<agents::InMemoryProtocol> protocol;
  std::array<Sink, kMaxProducers> sinks;
};
std::unique_ptr<SharedProtocol> g_shared;

// The hop itself: steady_clock just before Send to steady_clock at the handler's first line
// (both on the same clock, different threads), reported as manual time per message. The
// producer then waits (futex) for the handler to finish before the next send, so the pool is
// never more than one message deep. range(0): tracing mode; range(1): idle gap in us before
// each send (0: back to back, the pool has just finished the previous message; 500: the pool
// has been idle long enough to be asleep); range(2): idle_spin_max in us (0: off, the default).
// ->Threads(2): two producers, one sink each.
void BM_SendToHandlerEntry(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_shared =
        std::make_unique<SharedProtocol>(static_cast<int>(state.range(0)), 2, 1024, state.range(2));
  }
  const auto gap = std::chrono::microseconds(state.range(1));
  std::uint64_t expected = 0;
  std::vector<std::int64_t> hops_ns;
  hops_ns.reserve(1 << 16);
  for (auto _ : state) {
    auto& sink = g_shared->sinks[state.thread_index()];
    if (gap.count() > 0) std::this_thread::sleep_for(gap);
    auto before = std::chrono::steady_clock::now();
    (void)g_shared->protocol->Send({}, EventTo(SharedProtocol::SinkName(state.thread_index())));
    WaitFor(sink.handled, ++expected);
    auto entered = std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(sink.entered_ns.load(std::memory_order_relaxed)));
    state.SetIterationTime(std::chrono::duration<double>(entered - before).count());
    hops_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(entered - before).count());
  }
  // The mean (the reported time) carries every preemption of a loaded machine; the percentiles
  // show the typical hop next to it. Averaged over producer threads.
  if (!hops_ns.empty()) {
    std::sort(hops_ns.begin(), hops_ns.end());
    auto pct = [&](double q) {
      return static_cast<double>(hops_ns[static_cast<std::size_t>(q * (hops_ns.size() - 1))]);
    };
    state.counters["p50_ns"] = benchmark::Counter(pct(0.5), benchmark::Counter::kAvgThreads);
    state.counters["p90_ns"] = benchmark::Counter(pct(0.9), benchmark::Counter::kAvgThreads);
    state.counters["p99_ns"] = benchmark::Counter(pct(0.99), benchmark::Counter::kAvgThreads);
  }
  state.SetLabel(std::string("send->handler entry, pool 2, tracing ") +
                 ModeName(static_cast<int>(state.range(0))) + ", gap " +
                 std::to_string(state.range(1)) + "us, spin " + std::to_string(state.range(2)) +
                 "us");
  if (state.thread_index() == 0) g_shared.reset();
}
// CPU is the whole process's (pool threads included, so an idle pool thread's spinning shows).
BENCHMARK(BM_SendToHandlerEntry)
    ->Args({0, 0, 0})
    ->Args({1, 0, 0})
    ->Args({0, 0, 20})
    ->Threads(1)
    ->Threads(2)
    ->UseManualTime()
    ->MeasureProcessCPUTime();
// Manual time excludes the idle gap, so cap the iterations or a run takes minutes.
BENCHMARK(BM_SendToHandlerEntry)
    ->Args({0, 500, 0})
    ->Args({0, 500, 20})
    ->Threads(1)
    ->Threads(2)
    ->UseManualTime()
    ->MeasureProcessCPUTime()
    ->Iterations(2000);

// Two agents bounce one message back and forth kHops times through the protocol: each
// handler's only work is to Send the next message. Time per hop = wall time / kHops (counter
// "per_hop"). With 1 pool thread every hop stays on that thread (queue cost, no wake-up); with
// 2 the next hop can be picked up by the other thread.
void BM_PingPong(benchmark::State& state) {
  Tracing tracing(static_cast<int>(state.range(1)));
  agents::InMemoryProtocolOptions po;
  po.threads = static_cast<std::size_t>(state.range(0));
  po.idle_spin_max = std::chrono::microseconds(state.range(2));
  po.tracer = tracing.tracer;
  agents::InMemoryProtocol protocol(po);
  constexpr std::int64_t kHops = 1000;
  std::atomic<std::int64_t> remaining{0};
  std::atomic<std::uint64_t> rounds{0};
  auto bounce = [&](const char* next) {
    return [&, next](const trace::Context& context, agents::Message) {
      if (remaining.fetch_sub(1, std::memory_order_acq_rel) > 1) {
        (void)protocol.Send(context, EventTo(next));
      } else {
        rounds.fetch_add(1, std::memory_order_release);
        rounds.notify_one();
      }
    };
  };
  (void)protocol.Subscribe("ping", {}, bounce("pong"));
  (void)protocol.Subscribe("pong", {}, bounce("ping"));
  std::uint64_t expected = 0;
  for (auto _ : state) {
    remaining.store(kHops, std::memory_order_relaxed);
    (void)protocol.Send({}, EventTo("ping"));
    WaitFor(rounds, ++expected);
  }
  state.SetItemsProcessed(state.iterations() * kHops);
  state.counters["per_hop"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kHops),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel("pool " + std::to_string(state.range(0)) + ", tracing " +
                 ModeName(static_cast<int>(state.range(1))) + ", spin " +
                 std::to_string(state.range(2)) + "us");
  (void)protocol.Shutdown();
}
// range(0): pool threads; range(1): tracing mode; range(2): idle_spin_max in us.
BENCHMARK(BM_PingPong)
    ->Args({1, 0, 0})
    ->Args({2, 0, 0})
    ->Args({2, 1, 0})
    ->Args({2, 0, 20})
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// Messages in flight back to back: how many sends per second the pool absorbs. Each producer
// sends a batch to its own sink and waits until the batch is handled. range(0): tracing mode;
// range(1): pool threads. ->Threads(2): two producers (items/s is their sum).
void BM_SendThroughput(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_shared = std::make_unique<SharedProtocol>(static_cast<int>(state.range(0)),
                                                static_cast<std::size_t>(state.range(1)), 1 << 20);
  }
  constexpr int kBatch = 1000;
  std::uint64_t expected = 0;
  for (auto _ : state) {
    const char* to = SharedProtocol::SinkName(state.thread_index());
    for (int i = 0; i < kBatch; ++i) (void)g_shared->protocol->Send({}, EventTo(to));
    expected += kBatch;
    WaitFor(g_shared->sinks[state.thread_index()].handled, expected);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(expected));
  state.SetLabel("pool " + std::to_string(state.range(1)) + ", tracing " +
                 ModeName(static_cast<int>(state.range(0))));
  if (state.thread_index() == 0) g_shared.reset();
}
BENCHMARK(BM_SendThroughput)->Args({0, 1})->Args({1, 1})->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK(BM_SendThroughput)
    ->Args({0, 2})
    ->Threads(1)
    ->Threads(2)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

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
  agents::RuntimeDefaults defaults;
  defaults.builtin_workers = false;
  defaults.protocol.threads = 2;
  auto coordinator = agents::BuildCoordinator(std::move(options), std::move(defaults)).value();
  (void)coordinator->CreateWorker(
      {"w", "", {"noop"}, "", 5, {}},
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
  state.SetLabel(std::string("tracing ") + ModeName(static_cast<int>(state.range(0))) +
                 ", handler " + std::to_string(state.range(1)) + "us");
  (void)coordinator->Shutdown();
}
BENCHMARK(BM_CoordinatorTasks)
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({2, 0})
    ->Args({0, 100})
    ->Args({1, 100})
    ->Args({2, 100})
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// One task whose plan is a chain of range(0) subtasks (each depends on the one before), run
// through an Orchestrator over the in-process protocol with a no-op worker, tracing off and
// the in-memory ledger: the cost of dependency scheduling on long plans (issue 8: quadratic
// before, 11 s of CPU for 10,000 steps).
void BM_ChainPlan(benchmark::State& state) {
  const auto steps = static_cast<std::size_t>(state.range(0));
  auto tracer = std::make_shared<trace::NoopTracer>();
  agents::InMemoryProtocolOptions protocol_options;
  protocol_options.tracer = tracer;
  agents::InMemoryProtocol protocol(protocol_options);
  agents::WorkerRegistry registry;
  agents::WorkerOptions worker_options;
  worker_options.tracer = tracer;
  auto worker = std::make_shared<agents::Worker>(
      agents::WorkerMetadata{"w", "", {"step"}, "", 5, {}},
      agents::MakeFunctionHandler([](const trace::Context&, const agents::Subtask&)
                                      -> Result<nlohmann::json> { return nlohmann::json(); }),
      worker_options);
  (void)worker->Start(protocol);
  (void)registry.Add(worker->metadata(), worker);
  agents::Plan plan;
  for (std::size_t i = 0; i < steps; ++i) {
    agents::SubtaskSpec s;
    s.name = "s" + std::to_string(i);
    s.capability = "step";
    if (i > 0) s.dependencies.push_back("s" + std::to_string(i - 1));
    plan.subtasks.push_back(std::move(s));
  }
  agents::DeclarativePlanner planner(plan);
  std::uint64_t failures = 0;
  std::uint64_t task = 0;
  for (auto _ : state) {
    // A fresh orchestrator (and in-memory ledger) per task, so ledger growth is not measured.
    agents::OrchestratorOptions options;
    options.tracer = tracer;
    agents::Orchestrator orchestrator(protocol, registry, options);
    (void)orchestrator.Start();
    auto r = orchestrator.ExecuteTask({}, "chain-" + std::to_string(task++),
                                      {"chain", "", "workflow", 5, {}}, planner);
    failures += !r.status.ok();
    (void)orchestrator.Shutdown();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * steps));
  state.counters["failures"] = static_cast<double>(failures);
  (void)worker->Stop();
  (void)protocol.Shutdown();
}
BENCHMARK(BM_ChainPlan)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
