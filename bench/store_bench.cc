// The trace store behind `minion serve`: ingest rate into SQLite, trace-by-id latency and
// attribute search over a 1 M-span database, bytes per span. The 1 M-span database is built
// once per run (its build time and rate are printed) in $MINION_STORE_BENCH_DIR (default
// /tmp/minion-store-bench); MINION_STORE_BENCH_SPANS changes its size.
//
// Spans are shaped like a real `minion run` task: 8 spans per trace (task, plan, dispatch,
// protocol.send, worker, llm, tool, result send) with the seed's attributes; priorities 1..10,
// 1,000 worker ids, every 20th trace failed.
#include <benchmark/benchmark.h>

#include <time.h>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "minion/store/query.h"
#include "minion/store/trace_store.h"

namespace minion::store {
namespace {

namespace trace_pb = opentelemetry::proto::trace::v1;
constexpr std::uint64_t kT0 = 1'764'400'000'000'000'000ULL;
constexpr int kSpansPerTrace = 8;
constexpr int kTracesPerRequest = 64;  // 512 spans: the batch processor's default export size
const char* const kTypes[] = {"code_generation", "research", "data_analysis", "content_creation",
                              "code_review"};

std::string Id(std::uint64_t n, int bytes, std::uint8_t salt) {
  std::string s(static_cast<std::size_t>(bytes), '\0');
  for (int i = 0; i < 8 && i < bytes; ++i)
    s[static_cast<std::size_t>(bytes - 1 - i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
  s[0] = static_cast<char>(salt);
  return s;
}

void Str(trace_pb::Span* s, const char* k, const std::string& v) {
  auto* kv = s->add_attributes();
  kv->set_key(k);
  kv->mutable_value()->set_string_value(v);
}
void Int(trace_pb::Span* s, const char* k, std::int64_t v) {
  auto* kv = s->add_attributes();
  kv->set_key(k);
  kv->mutable_value()->set_int_value(v);
}

void AddTrace(trace_pb::ScopeSpans* ss, std::uint64_t t) {
  const std::string trace_id = Id(t, 16, 0x5c);
  const std::uint64_t start = kT0 + t * 1'000'000;
  const std::string type = kTypes[t % 5];
  const bool failed = t % 20 == 0;
  const char* names[kSpansPerTrace] = {
      nullptr, "orchestrator.plan",          "orchestrator.dispatch", "protocol.send",
      nullptr, "llm.offline.offline-echo-1", "tool.search",           "protocol.send"};
  const int parents[kSpansPerTrace] = {-1, 0, 0, 2, 3, 4, 4, 4};
  const int kinds[kSpansPerTrace] = {1, 1, 1, 4, 5, 3, 1, 4};
  for (int i = 0; i < kSpansPerTrace; ++i) {
    auto* s = ss->add_spans();
    s->set_trace_id(trace_id);
    s->set_span_id(Id(t * 8 + static_cast<std::uint64_t>(i), 8, 0x11));
    if (parents[i] >= 0)
      s->set_parent_span_id(Id(t * 8 + static_cast<std::uint64_t>(parents[i]), 8, 0x11));
    s->set_name(i == 0 ? "multiagent.task." + type : i == 4 ? "worker." + type : names[i]);
    s->set_kind(static_cast<trace_pb::Span::SpanKind>(kinds[i]));
    s->set_start_time_unix_nano(start + static_cast<std::uint64_t>(i) * 1000);
    s->set_end_time_unix_nano(start + 900'000 - static_cast<std::uint64_t>(i) * 1000);
    s->set_flags(0x101);
    switch (i) {
      case 0:
        Str(s, "multiagent.task.id", "task-" + std::to_string(t));
        Str(s, "multiagent.task.name", "Generate REST API");
        Str(s, "multiagent.task.type", type);
        Int(s, "multiagent.task.priority", static_cast<std::int64_t>(t % 10 + 1));
        Int(s, "multiagent.subtask.count", 1);
        break;
      case 1:
      case 2:
        Str(s, "multiagent.orchestrator.id", "orchestrator-1");
        Str(s, "operation", i == 1 ? "plan" : "dispatch");
        break;
      case 3:
      case 7:
        Str(s, "operation", "send");
        Str(s, "multiagent.message.type", i == 3 ? "task" : "result");
        Str(s, "multiagent.message.id",
            "msg-" + std::to_string(t * 8 + static_cast<std::uint64_t>(i)));
        break;
      case 4:
        Str(s, "multiagent.worker.id", "worker-" + std::to_string(t % 1000));
        Str(s, "multiagent.worker.capability", type);
        Str(s, "multiagent.task.id", "task-" + std::to_string(t));
        if (failed) {
          s->mutable_status()->set_code(trace_pb::Status::STATUS_CODE_ERROR);
          s->mutable_status()->set_message("handler failed");
        }
        break;
      case 5:
        Str(s, "gen_ai.system", "offline");
        Str(s, "gen_ai.request.model", "offline-echo-1");
        Int(s, "gen_ai.usage.input_tokens", 25);
        Int(s, "gen_ai.usage.output_tokens", 54);
        break;
      case 6:
        Str(s, "tool.name", "search");
        break;
    }
  }
}

ExportRequest MakeRequest(std::uint64_t first_trace) {
  ExportRequest req;
  auto* rs = req.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("minion-multiagent");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("minion.multiagent");
  ss->mutable_scope()->set_version("0.1.0");
  for (int i = 0; i < kTracesPerRequest; ++i)
    AddTrace(ss, first_trace + static_cast<std::uint64_t>(i));
  return req;
}

std::string BenchDir() {
  const char* d = std::getenv("MINION_STORE_BENCH_DIR");
  return d ? d : "/tmp/minion-store-bench";
}

std::unique_ptr<TraceStore> OpenFresh(const std::string& name) {
  std::filesystem::create_directories(BenchDir());
  const std::string path = BenchDir() + "/" + name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  StoreOptions o;
  o.path = path;
  o.max_queued_spans = 1'000'000;
  return TraceStore::Open(o).value();
}

// Writes `traces` traces with `threads` concurrent writers; returns seconds taken.
double Fill(TraceStore& store, std::uint64_t traces, int threads) {
  const auto start = std::chrono::steady_clock::now();
  std::atomic<std::uint64_t> next{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < threads; ++w) {
    writers.emplace_back([&] {
      for (;;) {
        const std::uint64_t first = next.fetch_add(kTracesPerRequest);
        if (first >= traces) break;
        Status s = store.Write(MakeRequest(first + 1));
        if (!s.ok()) std::cerr << "store_bench: write failed: " << s.ToString() << "\n";
      }
    });
  }
  for (auto& t : writers) t.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// ---- ingest ----

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Spans per second of wall time, and per second of the whole process's CPU time (writer thread
// included), which is what the rate would be on an idle core when the machine is shared.
void Ingest(benchmark::State& state) {
  static std::unique_ptr<TraceStore> store;
  static double cpu_start = 0;
  if (state.thread_index() == 0) {
    store = OpenFresh("ingest.db");
    cpu_start = ProcessCpuSeconds();
  }
  std::vector<ExportRequest> prepared;
  for (int i = 0; i < 64; ++i)
    prepared.push_back(
        MakeRequest(1'000'000'000ULL * static_cast<std::uint64_t>(state.thread_index() + 1) +
                    static_cast<std::uint64_t>(i) * kTracesPerRequest));
  std::size_t i = 0;
  for (auto _ : state) {
    // Distinct trace ids per iteration do not matter to SQLite's cost; the request is copied
    // because Write takes it by value (the copy is part of what a receiver does too).
    Status s = store->Write(prepared[i++ % prepared.size()]);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * kTracesPerRequest * kSpansPerTrace);
  if (state.thread_index() == 0) {
    store->Shutdown();  // drains the queue: every counted span is committed
    const double cpu = ProcessCpuSeconds() - cpu_start;
    state.counters["spans_per_cpu_s"] =
        benchmark::Counter(static_cast<double>(store->Stats().spans_written) / cpu);
    // The writer thread alone: the rate when receivers decode on other cores.
    state.counters["spans_per_writer_cpu_s"] = benchmark::Counter(
        static_cast<double>(store->Stats().spans_written) / store->Stats().writer_cpu_seconds);
    state.counters["bytes_per_span"] =
        benchmark::Counter(static_cast<double>(store->UsedBytes().value()) /
                           static_cast<double>(store->Stats().spans_written));
  }
}
void BM_Ingest(benchmark::State& state) { Ingest(state); }
BENCHMARK(BM_Ingest)->Threads(1)->Threads(4)->UseRealTime()->MinTime(3);

// The same with a fixed amount of work (204,800 spans into a fresh database whatever the
// thread count), for comparing two builds on a shared machine: BM_Ingest runs for a fixed
// time, so under load it writes fewer spans into a smaller database, and its per-CPU-second
// figures are not comparable with an idle run's. These are (transaction sizes aside: with
// several writers they grow when the writer thread gets less CPU).
void BM_FixedIngest(benchmark::State& state) { Ingest(state); }
BENCHMARK(BM_FixedIngest)->Threads(1)->Iterations(400)->UseRealTime();
BENCHMARK(BM_FixedIngest)->Threads(4)->Iterations(100)->UseRealTime();

// ---- queries over the big database ----

struct Big {
  std::unique_ptr<TraceStore> store;
  std::uint64_t traces = 0;
};

Big& BigStore() {
  static Big big;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("MINION_STORE_BENCH_SPANS");
    const std::uint64_t spans = env ? std::strtoull(env, nullptr, 10) : 1'000'000;
    big.traces = spans / kSpansPerTrace;
    big.store = OpenFresh("big.db");
    const double cpu_start = ProcessCpuSeconds();
    const double seconds = Fill(*big.store, big.traces, 4);
    const double cpu = ProcessCpuSeconds() - cpu_start;
    const auto used = big.store->UsedBytes().value();
    std::cerr << "store_bench: built " << big.traces * kSpansPerTrace << " spans (" << big.traces
              << " traces) in " << seconds
              << " s = " << static_cast<double>(big.traces * kSpansPerTrace) / seconds
              << " spans/s with 4 writers ("
              << static_cast<double>(big.traces * kSpansPerTrace) / cpu
              << " spans per CPU-second); database " << used << " bytes = "
              << static_cast<double>(used) / static_cast<double>(big.traces * kSpansPerTrace)
              << " bytes/span\n";
  });
  return big;
}

void BM_TraceById(benchmark::State& state) {
  Big& big = BigStore();
  std::mt19937_64 rng(42);
  std::size_t spans = 0;
  for (auto _ : state) {
    const std::uint64_t t = rng() % big.traces + 1;
    auto trace = big.store->GetTrace(Id(t, 16, 0x5c));
    if (!trace.ok()) {
      state.SkipWithError(trace.status().ToString().c_str());
      break;
    }
    spans += static_cast<std::size_t>(trace->resource_spans(0).scope_spans(0).spans_size());
  }
  state.counters["spans_per_trace"] =
      benchmark::Counter(static_cast<double>(spans) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_TraceById)->Unit(benchmark::kMillisecond);

void Search(benchmark::State& state, const std::string& service, const std::string& operation,
            const std::string& attributes, std::int64_t min_duration_ns) {
  Big& big = BigStore();
  TraceQuery q;
  q.service = service;
  q.operation = operation;
  q.attributes = ParseAttributeConditions(attributes).value();
  q.duration_min_ns = min_duration_ns;
  q.limit = 20;
  std::size_t found = 0;
  for (auto _ : state) {
    auto r = big.store->FindTraces(q);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    found = r->size();
  }
  state.counters["traces_found"] = static_cast<double>(found);
}
BENCHMARK_CAPTURE(Search, priority_gt_7, "", "", "multiagent.task.priority>7", 0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Search, worker_id, "", "", "multiagent.worker.id=worker-789", 0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Search, error_true, "minion-multiagent", "", "error=true", 0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Search, service_operation, "minion-multiagent", "multiagent.task.code_generation",
                  "", 0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Search, operation_pattern, "minion-multiagent", "multiagent.task.*", "", 0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Search, service_priority_gt_7, "minion-multiagent", "",
                  "multiagent.task.priority>7", 0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Search, min_duration_10s, "minion-multiagent", "", "", 10'000'000'000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace minion::store

BENCHMARK_MAIN();
