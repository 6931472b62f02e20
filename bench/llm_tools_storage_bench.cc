// Costs of the calls made inside workers, with tracing off (the global no-op tracer), so the
// numbers are the work itself: storage put/get per backend, the calculator, and an offline chat.

#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "minion/llm/offline_provider.h"
#include "minion/storage/memory_storage.h"
#include "minion/storage/sqlite_storage.h"
#include "minion/tools/builtin.h"

namespace {

using namespace minion;

void BM_MemoryStoragePutGet(benchmark::State& state) {
  storage::MemoryStorage s;
  trace::Context ctx;
  std::int64_t i = 0;
  for (auto _ : state) {
    std::string key = "k" + std::to_string(i++ % 1024);
    (void)s.Put(ctx, "bench", key, "value");
    benchmark::DoNotOptimize(s.Get(ctx, "bench", key));
  }
}
BENCHMARK(BM_MemoryStoragePutGet);

void BM_SqliteStoragePutGet(benchmark::State& state) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() / ("minion-bench-" + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  {
    storage::SqliteStorageOptions options;
    options.path = (dir / "bench.db").string();
    auto s = storage::SqliteStorage::Open(options);
    if (!s.ok()) {
      state.SkipWithError(s.status().ToString().c_str());
      return;
    }
    trace::Context ctx;
    std::int64_t i = 0;
    for (auto _ : state) {
      std::string key = "k" + std::to_string(i++ % 1024);
      (void)(*s)->Put(ctx, "bench", key, "value");
      benchmark::DoNotOptimize((*s)->Get(ctx, "bench", key));
    }
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SqliteStoragePutGet);

void BM_CalculatorExpression(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        tools::EvaluateExpression("(2 + 3) * 4 ^ 2 - sqrt(16) / max(1, 2, 3)"));
  }
}
BENCHMARK(BM_CalculatorExpression);

void BM_OfflineChatPlan(benchmark::State& state) {
  llm::OfflineProvider provider;
  llm::ChatRequest r;
  r.json_response = true;
  r.messages = {
      {"system", "Use only these capabilities: code_generation, data_analysis, summarize."},
      {"user", "Break this task into subtasks as JSON.\nTask: analyse churn and summarize"}};
  for (auto _ : state) benchmark::DoNotOptimize(provider.Chat(trace::Context(), r));
}
BENCHMARK(BM_OfflineChatPlan);

}  // namespace

BENCHMARK_MAIN();
