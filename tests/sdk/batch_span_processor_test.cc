#include "minion/sdk/batch_span_processor.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <thread>
#include <vector>

#include "minion/sdk/tracer_provider.h"
#include "sdk/counting_exporter.h"
#include "support/scoped_env.h"

namespace minion::sdk {
namespace {

using minion::testing::CountingExporter;
using minion::testing::GatedExporter;

struct Pipeline {
  std::shared_ptr<CountingExporter::Counters> counters =
      std::make_shared<CountingExporter::Counters>();
  std::shared_ptr<GatedExporter::Gate> gate = std::make_shared<GatedExporter::Gate>();
  BatchSpanProcessor* processor = nullptr;
  std::shared_ptr<TracerProvider> provider;
  std::shared_ptr<trace::Tracer> tracer;

  Pipeline(BatchSpanProcessorOptions options, bool gated) {
    std::unique_ptr<SpanExporter> exporter;
    if (gated)
      exporter = std::make_unique<GatedExporter>(counters, gate);
    else
      exporter = std::make_unique<CountingExporter>(counters);
    auto bsp = std::make_unique<BatchSpanProcessor>(std::move(exporter), options);
    processor = bsp.get();
    TracerProviderOptions po;
    po.processors.push_back(std::move(bsp));
    po.merge_environment_resource = false;
    provider = TracerProvider::Create(std::move(po));
    tracer = provider->GetTracer("test");
  }
};

BatchSpanProcessorOptions Options(std::size_t queue, std::size_t batch,
                                  std::chrono::milliseconds delay) {
  BatchSpanProcessorOptions o;
  o.max_queue_size = queue;
  o.max_export_batch_size = batch;
  o.schedule_delay = delay;
  return o;
}

TEST(BatchSpanProcessorTest, ForceFlushExportsEverythingQueued) {
  Pipeline p(Options(2048, 512, std::chrono::hours(1)), false);
  for (int i = 0; i < 100; ++i) p.tracer->StartSpan("s").End();
  ASSERT_TRUE(p.processor->ForceFlush(std::chrono::seconds(10)).ok());
  EXPECT_EQ(p.counters->spans.load(), 100u);
  EXPECT_EQ(p.processor->stats().exported, 100u);
  EXPECT_EQ(p.processor->stats().dropped, 0u);
}

TEST(BatchSpanProcessorTest, ExportsInBatchesNoLargerThanMaxBatch) {
  Pipeline p(Options(4096, 64, std::chrono::hours(1)), false);
  for (int i = 0; i < 1000; ++i) p.tracer->StartSpan("s").End();
  ASSERT_TRUE(p.processor->ForceFlush(std::chrono::seconds(10)).ok());
  EXPECT_EQ(p.counters->spans.load(), 1000u);
  EXPECT_LE(p.counters->largest_batch.load(), 64u);
  EXPECT_GE(p.counters->batches.load(), 1000u / 64);
}

TEST(BatchSpanProcessorTest, DropsAndCountsWhenFullWithoutBlockingTheCaller) {
  Pipeline p(Options(8, 4, std::chrono::hours(1)), true);
  // Fill a batch so the export thread takes 4 spans and blocks in Export.
  for (int i = 0; i < 4; ++i) p.tracer->StartSpan("s").End();
  p.gate->AwaitBlockedExport();
  // The queue (8) fills; the rest must be dropped, not waited for.
  for (int i = 0; i < 100; ++i) p.tracer->StartSpan("s").End();
  auto stats = p.processor->stats();
  EXPECT_EQ(stats.enqueued, 12u);
  EXPECT_EQ(stats.dropped, 92u);
  p.gate->Open();
  ASSERT_TRUE(p.processor->ForceFlush(std::chrono::seconds(10)).ok());
  EXPECT_EQ(p.counters->spans.load(), 12u);
  EXPECT_EQ(p.counters->spans.load() + p.processor->stats().dropped, 104u);
}

// The queue is split into per-thread shards internally; the bound must still be the exact
// max_queue_size across threads, and a span may be dropped only when the whole queue is full.
TEST(BatchSpanProcessorTest, QueueBoundIsExactAcrossThreads) {
  Pipeline p(Options(1000, 4, std::chrono::hours(1)), true);
  for (int i = 0; i < 4; ++i) p.tracer->StartSpan("s").End();
  p.gate->AwaitBlockedExport();  // the export thread holds 4 spans and takes no more
  constexpr int kThreads = 4, kPerThread = 700;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) p.tracer->StartSpan("s").End();
    });
  for (auto& t : threads) t.join();
  auto stats = p.processor->stats();
  EXPECT_EQ(stats.enqueued, 4u + 1000u);
  EXPECT_EQ(stats.dropped, static_cast<std::uint64_t>(kThreads * kPerThread) - 1000u);
  p.gate->Open();
  ASSERT_TRUE(p.processor->ForceFlush(std::chrono::seconds(10)).ok());
  EXPECT_EQ(p.counters->spans.load(), 1004u);
}

TEST(BatchSpanProcessorTest, ScheduleDelayExportsWithoutAFullBatch) {
  Pipeline p(Options(2048, 512, std::chrono::milliseconds(5)), true);
  p.tracer->StartSpan("lonely").End();
  // Only the timer can trigger this export: the batch is far from full and nobody flushes.
  p.gate->AwaitBlockedExport();
  p.gate->Open();
  ASSERT_TRUE(p.processor->ForceFlush(std::chrono::seconds(10)).ok());
  EXPECT_EQ(p.counters->spans.load(), 1u);
}

TEST(BatchSpanProcessorTest, ForceFlushTimesOutWhenExporterIsStuck) {
  Pipeline p(Options(64, 4, std::chrono::hours(1)), true);
  for (int i = 0; i < 4; ++i) p.tracer->StartSpan("s").End();
  p.gate->AwaitBlockedExport();
  Status s = p.processor->ForceFlush(std::chrono::milliseconds(20));
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  p.gate->Open();
}

TEST(BatchSpanProcessorTest, ShutdownIsBoundedAndIdempotentAndLaterSpansAreDropped) {
  Pipeline p(Options(64, 4, std::chrono::hours(1)), true);
  for (int i = 0; i < 4; ++i) p.tracer->StartSpan("s").End();
  p.gate->AwaitBlockedExport();
  // Stuck exporter: Shutdown gives up flushing after its timeout, shuts the exporter down
  // (which releases the gate here) and joins the thread.
  Status s = p.processor->Shutdown(std::chrono::milliseconds(20));
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(p.counters->shut_down.load());
  EXPECT_TRUE(p.processor->Shutdown(std::chrono::milliseconds(20)).ok());
  const auto dropped_before = p.processor->stats().dropped;
  p.processor->OnEnd(trace::AcquireSpanData());
  EXPECT_EQ(p.processor->stats().dropped, dropped_before);  // unsampled record: ignored
  auto sampled = trace::AcquireSpanData();
  sampled->flags = trace::TraceFlags(1);
  p.processor->OnEnd(std::move(sampled));
  EXPECT_EQ(p.processor->stats().dropped, dropped_before + 1);
}

TEST(BatchSpanProcessorTest, ShutdownFlushesQueuedSpans) {
  auto counters = std::make_shared<CountingExporter::Counters>();
  {
    Pipeline p(Options(2048, 512, std::chrono::hours(1)), false);
    counters = p.counters;
    for (int i = 0; i < 10; ++i) p.tracer->StartSpan("s").End();
    EXPECT_TRUE(p.provider->Shutdown(std::chrono::seconds(10)));
  }
  EXPECT_EQ(counters->spans.load(), 10u);
}

// Issue 8: a huge queue size allocated its rings up front (16 bytes a slot: 2^40 slots is 16
// TiB, std::bad_alloc at construction). The queue is capped, and the cap is exact.
TEST(BatchSpanProcessorTest, HugeQueueSizeIsCappedNotAllocated) {
  Pipeline p(Options(std::size_t{1} << 40, 4, std::chrono::hours(1)), true);
  for (int i = 0; i < 4; ++i) p.tracer->StartSpan("s").End();
  p.gate->AwaitBlockedExport();  // the export thread holds 4 spans and takes no more
  const std::size_t extra = 100;
  for (std::size_t i = 0; i < kMaxBatchQueueSize + extra; ++i) p.tracer->StartSpan("s").End();
  EXPECT_EQ(p.processor->stats().enqueued, 4u + kMaxBatchQueueSize);
  EXPECT_EQ(p.processor->stats().dropped, extra);
  p.gate->Open();
  ASSERT_TRUE(p.processor->ForceFlush(std::chrono::seconds(60)).ok());
  EXPECT_EQ(p.counters->spans.load(), 4u + kMaxBatchQueueSize);
}

TEST(BatchSpanProcessorTest, QueueSizeFromEnvIsCappedWithAWarning) {
  ::testing::internal::CaptureStderr();
  auto o = BatchSpanProcessorOptions::FromEnv(
      minion::testing::MapLookup({{"OTEL_BSP_MAX_QUEUE_SIZE", "2147483647"}}));
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(o.max_queue_size, kMaxBatchQueueSize);
  EXPECT_NE(err.find("OTEL_BSP_MAX_QUEUE_SIZE=\"2147483647\""), std::string::npos) << err;
  EXPECT_NE(err.find("using " + std::to_string(kMaxBatchQueueSize)), std::string::npos) << err;
}

TEST(BatchSpanProcessorTest, OptionsFromEnvUseSpecDefaultsAndOverrides) {
  std::map<std::string, std::string, std::less<>> env;  // read through FromEnv's lookup
  auto d = BatchSpanProcessorOptions::FromEnv(minion::testing::MapLookup(env));
  EXPECT_EQ(d.schedule_delay.count(), 5000);
  EXPECT_EQ(d.export_timeout.count(), 30000);
  EXPECT_EQ(d.max_queue_size, 2048u);
  EXPECT_EQ(d.max_export_batch_size, 512u);
  env["OTEL_BSP_SCHEDULE_DELAY"] = "100";
  env["OTEL_BSP_EXPORT_TIMEOUT"] = "2000";
  env["OTEL_BSP_MAX_QUEUE_SIZE"] = "100";
  env["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] = "500";  // > queue: falls back
  auto o = BatchSpanProcessorOptions::FromEnv(minion::testing::MapLookup(env));
  EXPECT_EQ(o.schedule_delay.count(), 100);
  EXPECT_EQ(o.export_timeout.count(), 2000);
  EXPECT_EQ(o.max_queue_size, 100u);
  EXPECT_EQ(o.max_export_batch_size, 100u);
  env["OTEL_BSP_MAX_QUEUE_SIZE"] = "lots";
  EXPECT_EQ(BatchSpanProcessorOptions::FromEnv(minion::testing::MapLookup(env)).max_queue_size,
            2048u);
}

}  // namespace
}  // namespace minion::sdk
