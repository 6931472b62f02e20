#include "minion/sampling/tail_sampling_processor.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "minion/exporters/in_memory_exporter.h"
#include "minion/sdk/sampler.h"
#include "minion/sdk/simple_span_processor.h"
#include "minion/sdk/tracer_provider.h"
#include "support/scoped_env.h"

namespace minion::sampling {
namespace {

using std::chrono::milliseconds;
using trace::Context;
using trace::Span;
using trace::SpanStartOptions;
using trace::SpanStatusCode;
using trace::TraceId;

// Ids from a fixed seed, so the statistical tests see the same traces on every run.
class SeededIdGenerator final : public trace::IdGenerator {
 public:
  explicit SeededIdGenerator(std::uint64_t seed) : rng_(seed) {}
  TraceId GenerateTraceId() noexcept override {
    std::lock_guard lock(mu_);
    TraceId id;
    Fill(id.mutable_bytes().data(), 16);
    return id;
  }
  trace::SpanId GenerateSpanId() noexcept override {
    std::lock_guard lock(mu_);
    trace::SpanId id;
    Fill(id.mutable_bytes().data(), 8);
    return id;
  }

 private:
  void Fill(std::uint8_t* out, int n) {
    for (int i = 0; i < n; i += 8) {
      std::uint64_t v = rng_() | 1;  // never all-zero
      for (int j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
    }
  }
  std::mutex mu_;
  std::mt19937_64 rng_;
};

// Real pipeline: SDK provider (AlwaysOn, as tail sampling requires) -> TailSamplingProcessor ->
// SimpleSpanProcessor -> InMemorySpanExporter.
struct Pipeline {
  explicit Pipeline(TailSamplingOptions options, std::uint64_t seed = 42,
                    std::unique_ptr<sdk::SpanProcessor> downstream = nullptr)
      : ids(seed) {
    options.clock = &clock;
    auto exporter = std::make_unique<exporters::InMemorySpanExporter>();
    storage = exporter->storage();
    if (downstream == nullptr) {
      downstream = std::make_unique<sdk::SimpleSpanProcessor>(std::move(exporter));
    }
    auto tail = std::make_unique<TailSamplingProcessor>(std::move(downstream), options);
    processor = tail.get();
    sdk::TracerProviderOptions po;
    po.sampler = sdk::MakeAlwaysOnSampler();
    po.processors.push_back(std::move(tail));
    po.id_generator = &ids;
    po.clock = &clock;
    po.merge_environment_resource = false;
    provider = sdk::TracerProvider::Create(std::move(po));
    tracer = provider->GetTracer("tail-test", "1.0");
  }
  ~Pipeline() { provider->Shutdown(); }

  Span Child(const Span& parent, std::string_view name) {
    Context ctx = Context().WithSpan(parent);
    SpanStartOptions o;
    o.parent = &ctx;
    return tracer->StartSpan(name, o);
  }
  Span Root(std::string_view name) {
    SpanStartOptions o;
    o.new_root = true;
    return tracer->StartSpan(name, o);
  }
  // Exported spans grouped by trace id.
  std::map<TraceId, std::vector<trace::SpanData>> ExportedByTrace() const {
    std::map<TraceId, std::vector<trace::SpanData>> out;
    for (auto& s : storage->GetSpans()) out[s.trace_id].push_back(s);
    return out;
  }

  SimulatedClock clock;
  SeededIdGenerator ids;
  std::shared_ptr<exporters::InMemorySpanExporter::Storage> storage;
  TailSamplingProcessor* processor = nullptr;  // owned by the provider
  std::shared_ptr<sdk::TracerProvider> provider;
  std::shared_ptr<trace::Tracer> tracer;
};

TailSamplingOptions TestOptions() {
  TailSamplingOptions o;
  o.check_interval = milliseconds(0);  // tests drive expiry through DecideExpired
  o.latency_threshold = milliseconds(10'000);
  return o;
}

void ExpectCountsAddUp(const TailSamplingStats& s) {
  EXPECT_EQ(s.spans_received,
            s.spans_kept + s.spans_dropped + s.spans_dropped_memory + s.spans_held);
}

TEST(TailSamplingProcessorTest, KeepsEveryErroringTraceWholeAndAboutTheRatioOfTheRest) {
  constexpr int kTraces = 1000;
  constexpr int kChildren = 3;
  auto options = TestOptions();
  options.ratio = 0.10;
  Pipeline p(options, /*seed=*/20261125);
  std::mt19937 pick(7);  // which traces fail: 5%
  std::bernoulli_distribution fails(0.05);

  std::set<TraceId> erroring;
  std::set<TraceId> all;
  for (int t = 0; t < kTraces; ++t) {
    Span root = p.Root("task");
    const TraceId id = root.GetContext().trace_id();
    all.insert(id);
    const bool error = fails(pick);
    for (int c = 0; c < kChildren; ++c) {
      Span child = p.Child(root, "step");
      p.clock.Advance(milliseconds(1));
      if (error && c == 1) child.SetStatus(SpanStatusCode::kError, "step failed");
      child.End();
    }
    if (error) erroring.insert(id);
    root.End();  // the local root ends last: the processor decides here
  }
  ASSERT_GT(erroring.size(), 30u);  // the seed gives a meaningful number of failures
  ASSERT_TRUE(p.provider->ForceFlush());

  const auto exported = p.ExportedByTrace();
  for (const TraceId& id : erroring) {
    auto it = exported.find(id);
    ASSERT_NE(it, exported.end()) << "erroring trace " << id.ToHex() << " was dropped";
    EXPECT_EQ(it->second.size(), static_cast<std::size_t>(kChildren + 1)) << "trace not whole";
  }
  // The rest: kept exactly when the SDK's own TraceIdRatioBased sampler would sample the id.
  auto sampler = sdk::MakeTraceIdRatioBasedSampler(0.10);
  std::size_t kept_ok = 0;
  for (const TraceId& id : all) {
    if (erroring.count(id)) continue;
    const bool sdk_keeps =
        sampler->ShouldSample(Context(), id, "task", trace::SpanKind::kInternal, {}, {}).decision ==
        sdk::SamplingDecision::kRecordAndSample;
    auto it = exported.find(id);
    EXPECT_EQ(it != exported.end(), sdk_keeps) << id.ToHex();
    if (it != exported.end()) {
      ++kept_ok;
      EXPECT_EQ(it->second.size(), static_cast<std::size_t>(kChildren + 1));
    }
  }
  // Binomial(n ~ 950, p = 0.1): mean ~95, sd ~9.2; 4 sd either side.
  const double n_ok = static_cast<double>(kTraces - erroring.size());
  EXPECT_GT(static_cast<double>(kept_ok), n_ok * 0.1 - 4 * std::sqrt(n_ok * 0.09));
  EXPECT_LT(static_cast<double>(kept_ok), n_ok * 0.1 + 4 * std::sqrt(n_ok * 0.09));

  const auto s = p.processor->stats();
  EXPECT_EQ(s.traces_kept_error, erroring.size());
  EXPECT_EQ(s.traces_kept_ratio, kept_ok);
  EXPECT_EQ(s.traces_dropped, kTraces - erroring.size() - kept_ok);
  EXPECT_EQ(s.traces_kept() + s.traces_dropped, static_cast<std::uint64_t>(kTraces));
  EXPECT_EQ(s.spans_kept, p.storage->size());
  EXPECT_EQ(s.spans_held, 0u);
  EXPECT_EQ(s.traces_held, 0u);
  ExpectCountsAddUp(s);
}

TEST(TailSamplingProcessorTest, RatioRuleMatchesTheSdkSamplerAtSeveralRatios) {
  SeededIdGenerator ids(99);
  for (double ratio : {0.0, 0.01, 0.25, 0.5, 0.999, 1.0}) {
    auto sampler = sdk::MakeTraceIdRatioBasedSampler(ratio);
    for (int i = 0; i < 2000; ++i) {
      TraceId id = ids.GenerateTraceId();
      const bool sdk_keeps =
          sampler->ShouldSample(Context(), id, "x", trace::SpanKind::kInternal, {}, {}).decision ==
          sdk::SamplingDecision::kRecordAndSample;
      ASSERT_EQ(TailSamplingProcessor::RatioKeeps(id, ratio), sdk_keeps)
          << "ratio " << ratio << " id " << id.ToHex();
    }
  }
}

TEST(TailSamplingProcessorTest, SlowRootKeepsItsTraceAndFastRootDoesNot) {
  auto options = TestOptions();
  options.ratio = 0.0;
  options.latency_threshold = milliseconds(100);
  Pipeline p(options);

  Span slow = p.Root("slow");
  const TraceId slow_id = slow.GetContext().trace_id();
  p.Child(slow, "work").End();
  p.clock.Advance(milliseconds(150));
  slow.End();

  Span fast = p.Root("fast");
  const TraceId fast_id = fast.GetContext().trace_id();
  p.clock.Advance(milliseconds(50));
  fast.End();

  const auto exported = p.ExportedByTrace();
  ASSERT_EQ(exported.count(slow_id), 1u);
  EXPECT_EQ(exported.at(slow_id).size(), 2u);
  EXPECT_EQ(exported.count(fast_id), 0u);
  const auto s = p.processor->stats();
  EXPECT_EQ(s.traces_kept_latency, 1u);
  EXPECT_EQ(s.traces_dropped, 1u);
  ExpectCountsAddUp(s);
}

TEST(TailSamplingProcessorTest, HeldTraceCapIsRespectedAndCountsAddUp) {
  auto options = TestOptions();
  options.ratio = 0.0;
  options.max_traces = 3;
  Pipeline p(options);

  // 20 traces whose roots stay open, each with one ended child (held); every third errors.
  std::vector<Span> roots;
  std::set<TraceId> erroring;
  for (int i = 0; i < 20; ++i) {
    roots.push_back(p.Root("open"));
    Span child = p.Child(roots.back(), "child");
    if (i % 3 == 0) {
      child.SetStatus(SpanStatusCode::kError);
      erroring.insert(roots.back().GetContext().trace_id());
    }
    child.End();
    const auto s = p.processor->stats();
    EXPECT_LE(s.traces_held, 3u) << "after trace " << i;
  }
  auto s = p.processor->stats();
  EXPECT_EQ(s.traces_held, 3u);
  EXPECT_EQ(s.traces_decided_on_capacity, 17u);
  ExpectCountsAddUp(s);

  for (auto& r : roots) r.End();  // 17 late roots follow their early decisions; 3 decide now
  ASSERT_TRUE(p.provider->ForceFlush());
  s = p.processor->stats();
  EXPECT_EQ(s.traces_held, 0u);
  EXPECT_EQ(s.traces_kept() + s.traces_dropped, 20u);
  EXPECT_EQ(s.traces_kept_error, erroring.size());
  ExpectCountsAddUp(s);
  // An erroring trace decided early keeps its late root: exported whole.
  const auto exported = p.ExportedByTrace();
  EXPECT_EQ(exported.size(), erroring.size());
  for (const auto& id : erroring) {
    ASSERT_EQ(exported.count(id), 1u);
    EXPECT_EQ(exported.at(id).size(), 2u);
  }
}

TEST(TailSamplingProcessorTest, SpansBeyondThePerTraceCapAreDroppedButTheRootIsKept) {
  auto options = TestOptions();
  options.max_spans_per_trace = 3;
  Pipeline p(options);
  Span root = p.Root("big");
  for (int i = 0; i < 10; ++i) p.Child(root, "c").End();
  root.SetStatus(SpanStatusCode::kError);
  root.End();
  const auto spans = p.storage->GetSpans();
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(spans.back().name, "big");
  const auto s = p.processor->stats();
  EXPECT_EQ(s.spans_dropped_memory, 7u);
  EXPECT_EQ(s.traces_kept_error, 1u);
  ExpectCountsAddUp(s);
}

TEST(TailSamplingProcessorTest, TraceWhoseRootNeverEndsIsDecidedAfterTheWait) {
  auto options = TestOptions();
  options.ratio = 0.0;
  options.decision_wait = milliseconds(5000);
  Pipeline p(options);
  Span root = p.Root("stuck");
  Span child = p.Child(root, "failing");
  child.SetStatus(SpanStatusCode::kError, "boom");
  child.End();

  EXPECT_EQ(p.processor->DecideExpired(), 0u);
  p.clock.Advance(milliseconds(4999));
  EXPECT_EQ(p.processor->DecideExpired(), 0u);
  EXPECT_EQ(p.storage->size(), 0u);
  p.clock.Advance(milliseconds(1));
  EXPECT_EQ(p.processor->DecideExpired(), 1u);
  ASSERT_EQ(p.storage->size(), 1u);

  root.End();  // late: follows the "keep" decision
  ASSERT_EQ(p.storage->size(), 2u);
  const auto s = p.processor->stats();
  EXPECT_EQ(s.traces_decided_on_timeout, 1u);
  EXPECT_EQ(s.traces_kept_error, 1u);
  ExpectCountsAddUp(s);
}

TEST(TailSamplingProcessorTest, BackgroundThreadDecidesExpiredTraces) {
  // Downstream that fulfils a promise on its first span, so the test waits without sleeping.
  class Signal final : public sdk::SpanProcessor {
   public:
    void OnEnd(trace::SpanDataPtr span) noexcept override {
      std::lock_guard lock(mu_);
      names_.push_back(span->name);
      if (names_.size() == 1) first_.set_value();
    }
    Status ForceFlush(milliseconds) noexcept override { return Status::Ok(); }
    Status Shutdown(milliseconds) noexcept override { return Status::Ok(); }
    std::future<void> first() { return first_.get_future(); }

   private:
    std::mutex mu_;
    std::vector<std::string> names_;
    std::promise<void> first_;
  };
  auto signal = std::make_unique<Signal>();
  auto first = signal->first();
  auto options = TestOptions();
  options.check_interval = milliseconds(1);
  options.decision_wait = milliseconds(100);
  Pipeline p(options, 1, std::move(signal));
  Span root = p.Root("stuck");
  Span child = p.Child(root, "failing");
  child.SetStatus(SpanStatusCode::kError);
  child.End();
  p.clock.Advance(milliseconds(100));
  ASSERT_EQ(first.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(p.processor->stats().traces_decided_on_timeout, 1u);
}

TEST(TailSamplingProcessorTest, LateSpansOfADroppedTraceAreDroppedAndCounted) {
  auto options = TestOptions();
  options.ratio = 0.0;
  Pipeline p(options);
  Span root = p.Root("r");
  Span straggler = p.Child(root, "async");
  root.End();
  straggler.End();
  EXPECT_EQ(p.storage->size(), 0u);
  const auto s = p.processor->stats();
  EXPECT_EQ(s.traces_dropped, 1u);
  EXPECT_EQ(s.spans_dropped, 2u);
  ExpectCountsAddUp(s);
}

TEST(TailSamplingProcessorTest, DecisionsAreForgottenBeyondTheirBound) {
  auto options = TestOptions();
  options.ratio = 0.0;
  options.max_traces = 1;     // one shard
  options.max_decisions = 4;  // one set of four
  Pipeline p(options);
  std::vector<Span> stragglers;
  for (int i = 0; i < 5; ++i) {
    Span root = p.Root("r");
    stragglers.push_back(p.Child(root, "late"));
    root.End();  // dropped; decision remembered
  }
  EXPECT_EQ(p.processor->stats().traces_dropped, 5u);
  // The most recent decision is remembered: its late span is dropped at once.
  stragglers[4].End();
  EXPECT_EQ(p.processor->stats().traces_held, 0u);
  EXPECT_EQ(p.processor->stats().spans_dropped, 6u);
  // The oldest was evicted by the fifth: its late span starts a new held trace.
  stragglers[0].End();
  EXPECT_EQ(p.processor->stats().traces_held, 1u);
  ExpectCountsAddUp(p.processor->stats());
}

TEST(TailSamplingProcessorTest, LocalRootWithRemoteParentIsKeptWhenItFails) {
  auto options = TestOptions();
  options.ratio = 0.0;
  Pipeline p(options);
  // A worker process: its local root is a child of a span in another process.
  SeededIdGenerator other(5);
  trace::SpanContext remote(other.GenerateTraceId(), other.GenerateSpanId(),
                            trace::TraceFlags(trace::TraceFlags::kSampled), /*is_remote=*/true);
  Context parent = Context().WithSpanContext(remote);
  SpanStartOptions o;
  o.parent = &parent;
  Span subtask = p.tracer->StartSpan("worker.search", o);
  Span tool = p.Child(subtask, "tool");
  tool.SetStatus(SpanStatusCode::kError, "tool failed");
  tool.End();
  subtask.End();

  const auto spans = p.storage->GetSpans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].trace_id, remote.trace_id());
  EXPECT_EQ(spans[1].parent_span_id, remote.span_id());
  EXPECT_EQ(p.processor->stats().traces_kept_error, 1u);

  // The same shape in another trace, without the error, is dropped at ratio 0.
  trace::SpanContext remote2(other.GenerateTraceId(), other.GenerateSpanId(),
                             trace::TraceFlags(trace::TraceFlags::kSampled), /*is_remote=*/true);
  Context parent2 = Context().WithSpanContext(remote2);
  o.parent = &parent2;
  Span ok = p.tracer->StartSpan("worker.search", o);
  p.Child(ok, "tool").End();
  ok.End();
  EXPECT_EQ(p.storage->size(), 2u);
}

TEST(TailSamplingProcessorTest, KeepAttributeOnTheRootForcesTheTrace) {
  auto options = TestOptions();
  options.ratio = 0.0;
  Pipeline p(options);
  Span root = p.Root("orchestrate");
  p.Child(root, "dispatch").End();
  // What the runtime does when a result message says a remote subtask failed.
  root.SetAttribute(kTailKeepAttribute, true);
  root.End();
  EXPECT_EQ(p.storage->size(), 2u);
  EXPECT_EQ(p.processor->stats().traces_kept_forced, 1u);

  Span other = p.Root("orchestrate");
  other.SetAttribute(kTailKeepAttribute, false);
  other.End();
  EXPECT_EQ(p.storage->size(), 2u);
}

TEST(TailSamplingProcessorTest, ForceKeepCoversHeldUnseenAndDroppedTraces) {
  auto options = TestOptions();
  options.ratio = 0.0;
  Pipeline p(options);

  // Held: kept when its root ends.
  Span held = p.Root("held");
  p.Child(held, "c").End();
  EXPECT_TRUE(p.processor->ForceKeep(held.GetContext().trace_id()));
  held.End();
  EXPECT_EQ(p.storage->size(), 2u);

  // Dropped: the answer says the spans are gone; later spans are kept.
  Span dropped = p.Root("dropped");
  Span late = p.Child(dropped, "late");
  dropped.End();
  EXPECT_FALSE(p.processor->ForceKeep(dropped.GetContext().trace_id()));
  late.End();
  EXPECT_EQ(p.storage->size(), 3u);

  // Unseen: its spans pass straight through when they end.
  const TraceId future_id = p.ids.GenerateTraceId();
  EXPECT_TRUE(p.processor->ForceKeep(future_id));
  trace::SpanContext remote(future_id, p.ids.GenerateSpanId(),
                            trace::TraceFlags(trace::TraceFlags::kSampled), true);
  Context parent = Context().WithSpanContext(remote);
  SpanStartOptions o;
  o.parent = &parent;
  p.tracer->StartSpan("arrives-later", o).End();
  ASSERT_EQ(p.storage->size(), 4u);
  EXPECT_EQ(p.storage->GetSpans().back().trace_id, future_id);
  ExpectCountsAddUp(p.processor->stats());
}

TEST(TailSamplingProcessorTest, ShutdownDecidesEveryHeldTrace) {
  auto options = TestOptions();
  options.ratio = 0.0;
  Pipeline p(options);
  Span open = p.Root("open");
  Span failed = p.Child(open, "failed");
  failed.SetStatus(SpanStatusCode::kError);
  failed.End();
  EXPECT_EQ(p.processor->stats().traces_held, 1u);
  ASSERT_TRUE(p.processor->Shutdown(milliseconds(1000)).ok());
  EXPECT_EQ(p.storage->size(), 1u);
  EXPECT_EQ(p.processor->stats().traces_held, 0u);
  EXPECT_TRUE(p.processor->Shutdown(milliseconds(1000)).ok());  // idempotent
  open.End();                                                   // after shutdown: dropped, counted
  ExpectCountsAddUp(p.processor->stats());
}

TEST(TailSamplingProcessorTest, FromEnvReadsTheVariablesAndIgnoresInvalidOnes) {
  std::map<std::string, std::string, std::less<>> env;  // read through FromEnv's lookup
  env["MINION_TAIL_SAMPLING_RATIO"] = "0.25";
  env["MINION_TAIL_SAMPLING_LATENCY_MS"] = "750";
  env["MINION_TAIL_SAMPLING_MAX_TRACES"] = "123";
  env["MINION_TAIL_SAMPLING_DECISION_WAIT_MS"] = "4000";
  auto o = TailSamplingOptions::FromEnv(minion::testing::MapLookup(env));
  EXPECT_DOUBLE_EQ(o.ratio, 0.25);
  EXPECT_EQ(o.latency_threshold, milliseconds(750));
  EXPECT_EQ(o.max_traces, 123u);
  EXPECT_EQ(o.decision_wait, milliseconds(4000));

  env["MINION_TAIL_SAMPLING_RATIO"] = "1.5";
  env["MINION_TAIL_SAMPLING_MAX_TRACES"] = "lots";
  o = TailSamplingOptions::FromEnv(minion::testing::MapLookup(env));
  EXPECT_DOUBLE_EQ(o.ratio, TailSamplingOptions{}.ratio);
  EXPECT_EQ(o.max_traces, TailSamplingOptions{}.max_traces);
}

// Run under TSan (-DMINION_SANITIZE=thread): application threads end spans of their own and of
// shared traces while the background thread expires traces and another thread calls ForceKeep.
TEST(TailSamplingProcessorTest, ConcurrentTracesAreDecidedWholeAndCountsAddUp) {
  auto options = TestOptions();
  options.ratio = 0.2;
  options.max_traces = 64;  // small, so capacity decisions race with root decisions
  options.check_interval = milliseconds(1);
  // Long enough that nothing expires: the background thread's scans still race with OnEnd, but
  // no trace is decided before its error arrives, so "every erroring trace whole" must hold.
  options.decision_wait = std::chrono::hours(1);
  Pipeline p(options, 77);
  constexpr int kThreads = 4;
  constexpr int kTracesPerThread = 300;
  std::mutex ids_mu;
  std::vector<TraceId> all_ids;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTracesPerThread; ++i) {
        Span root = p.Root("root");
        {
          std::lock_guard lock(ids_mu);
          all_ids.push_back(root.GetContext().trace_id());
        }
        for (int c = 0; c < 3; ++c) {
          Span child = p.Child(root, "child");
          if ((i + t) % 10 == 0 && c == 2) child.SetStatus(SpanStatusCode::kError);
          child.End();
        }
        if (i % 7 == 0) p.clock.Advance(milliseconds(10));
        if (i % 11 == 0) (void)p.processor->ForceKeep(root.GetContext().trace_id());
        root.End();
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(p.processor->Shutdown(milliseconds(5000)).ok());
  const auto s = p.processor->stats();
  EXPECT_EQ(s.spans_received, static_cast<std::uint64_t>(kThreads * kTracesPerThread * 4));
  EXPECT_EQ(s.spans_held, 0u);
  ExpectCountsAddUp(s);
  EXPECT_EQ(s.spans_kept, p.storage->size());
  // Every erroring trace survives whole, whatever raced with it.
  std::size_t error_traces = 0;
  for (auto& [id, spans] : p.ExportedByTrace()) {
    bool has_error = false;
    for (auto& sp : spans) has_error |= sp.status == SpanStatusCode::kError;
    if (has_error) {
      ++error_traces;
      EXPECT_EQ(spans.size(), 4u) << id.ToHex();
    }
  }
  EXPECT_EQ(error_traces, static_cast<std::size_t>(kThreads * kTracesPerThread / 10));
}

}  // namespace
}  // namespace minion::sampling
