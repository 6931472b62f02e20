// TraceStore on a real SQLite file: writes, trace by id, the seed's searches, refusals,
// retention by age and size (also while writing), and what survives a reopen.
#include "minion/store/trace_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <latch>
#include <set>
#include <thread>

#include "minion/common/clock.h"
#include "store/fixtures.h"

namespace minion::store {
namespace {

using namespace testing;
constexpr std::uint64_t kSec = 1'000'000'000ULL;
constexpr std::uint64_t kT0 = 1'764'400'000ULL * kSec;

std::unique_ptr<TraceStore> OpenStore(const std::string& path, StoreOptions o = {}) {
  o.path = path;
  auto s = TraceStore::Open(std::move(o));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

std::set<std::string> TraceIds(const std::vector<TracesData>& traces) {
  std::set<std::string> out;
  for (const auto& t : traces) out.insert(t.resource_spans(0).scope_spans(0).spans(0).trace_id());
  return out;
}

std::size_t SpanCount(const TracesData& t) {
  std::size_t n = 0;
  for (const auto& rs : t.resource_spans())
    for (const auto& ss : rs.scope_spans()) n += static_cast<std::size_t>(ss.spans_size());
  return n;
}

TEST(TraceStoreTest, TraceByIdReturnsEverySpanWithResourceScopeAndAttributes) {
  TempDir dir;
  auto store = OpenStore(dir.File("t.db"));
  ASSERT_TRUE(
      store->Write(TaskTrace(1, "code_generation", 8, "worker-789", kT0, 2 * kSec, true)).ok());
  auto trace = store->GetTrace(TraceIdBytes(1));
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  ASSERT_EQ(trace->resource_spans_size(), 1);
  const auto& rs = trace->resource_spans(0);
  EXPECT_EQ(rs.resource().attributes(0).value().string_value(), "minion-multiagent");
  EXPECT_EQ(rs.scope_spans(0).scope().name(), "minion.multiagent");
  ASSERT_EQ(SpanCount(*trace), 4u);
  const auto& spans = rs.scope_spans(0).spans();
  EXPECT_EQ(spans[0].name(), "multiagent.task.code_generation");
  EXPECT_EQ(spans[0].trace_id(), TraceIdBytes(1));
  EXPECT_EQ(spans[0].attributes(1).value().int_value(), 8);
  EXPECT_EQ(spans[2].status().code(), trace_pb::Status::STATUS_CODE_ERROR);
  EXPECT_EQ(spans[2].events(0).attributes(0).value().string_value(), "boom");
  EXPECT_EQ(spans[3].parent_span_id(), spans[2].span_id());
  EXPECT_EQ(store->GetTrace(TraceIdBytes(2)).status().code(), StatusCode::kNotFound);
}

TEST(TraceStoreTest, ServicesAndOperationsListWhatWasWritten) {
  TempDir dir;
  auto store = OpenStore(dir.File("t.db"));
  ASSERT_TRUE(store->Write(TaskTrace(1, "code_generation", 8, "w1", kT0, kSec)).ok());
  ASSERT_TRUE(store->Write(TaskTrace(2, "research", 3, "w2", kT0, kSec, false, "other")).ok());
  EXPECT_EQ(store->Services().value(), (std::vector<std::string>{"minion-multiagent", "other"}));
  auto ops = store->Operations("minion-multiagent", -1).value();
  ASSERT_EQ(ops.size(), 4u);
  EXPECT_EQ(ops[0].name, "llm.offline.echo");
  EXPECT_EQ(ops[0].kind, 3);
  auto consumers = store->Operations("minion-multiagent", 5).value();
  ASSERT_EQ(consumers.size(), 1u);
  EXPECT_EQ(consumers[0].name, "worker.code_generation");
}

// The seed's example queries (docs: "Example Queries in Jaeger").
TEST(TraceStoreTest, SeedQueriesFindExactlyTheMatchingTraces) {
  TempDir dir;
  auto store = OpenStore(dir.File("t.db"));
  ASSERT_TRUE(
      store->Write(TaskTrace(1, "code_generation", 8, "worker-789", kT0 + 1 * kSec, 12 * kSec))
          .ok());
  ASSERT_TRUE(
      store->Write(TaskTrace(2, "code_generation", 5, "worker-1", kT0 + 2 * kSec, 1 * kSec, true))
          .ok());
  ASSERT_TRUE(
      store->Write(TaskTrace(3, "research", 9, "worker-789", kT0 + 3 * kSec, 2 * kSec)).ok());
  ASSERT_TRUE(
      store->Write(TaskTrace(4, "research", 2, "worker-2", kT0 + 4 * kSec, 30 * kSec, true)).ok());

  auto find = [&](TraceQuery q) {
    auto r = store->FindTraces(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? TraceIds(*r) : std::set<std::string>{};
  };
  auto ids = [](std::initializer_list<int> ns) {
    std::set<std::string> out;
    for (int n : ns) out.insert(TraceIdBytes(static_cast<std::uint64_t>(n)));
    return out;
  };
  TraceQuery q;
  q.service = "minion-multiagent";
  q.operation = "multiagent.task.code_generation";
  EXPECT_EQ(find(q), ids({1, 2}));
  q.operation = "multiagent.task.*";
  EXPECT_EQ(find(q), ids({1, 2, 3, 4}));
  q.operation = "";
  q.duration_min_ns = ParseDuration("10s").value();
  EXPECT_EQ(find(q), ids({1, 4}));
  // Minimums on both sides of the 1 s partial duration index, and a maximum.
  q.duration_min_ns = ParseDuration("1.5s").value();
  EXPECT_EQ(find(q), ids({1, 3, 4}));
  q.duration_min_ns = ParseDuration("500ms").value();
  EXPECT_EQ(find(q), ids({1, 2, 3, 4}));
  q.duration_max_ns = ParseDuration("1s").value();
  EXPECT_EQ(find(q), ids({2}));  // only trace 2 has a span between 0.5 s and 1 s
  q.duration_max_ns = 0;
  q.duration_min_ns = 0;
  q.attributes = ParseAttributeConditions("error=true").value();
  EXPECT_EQ(find(q), ids({2, 4}));
  q.attributes = ParseAttributeConditions("multiagent.worker.id=worker-789").value();
  EXPECT_EQ(find(q), ids({1, 3}));
  q.attributes = ParseAttributeConditions("multiagent.task.priority>7").value();
  EXPECT_EQ(find(q), ids({1, 3}));
  q.attributes = ParseAttributeConditions(
                     R"({"multiagent.task.priority":">=8","multiagent.task.type":"research"})")
                     .value();
  EXPECT_EQ(find(q), ids({3}));
  // Jaeger's rule: all conditions on one span (priority is on the task span, the worker id on
  // the worker span), so this matches nothing.
  q.attributes =
      ParseAttributeConditions("multiagent.task.priority>7 multiagent.worker.id=worker-789")
          .value();
  EXPECT_EQ(find(q), ids({}));
  q.attributes = ParseAttributeConditions("multiagent.task.priority<=5").value();
  EXPECT_EQ(find(q), ids({2, 4}));
  q.attributes =
      ParseAttributeConditions("multiagent.task.priority=8").value();  // int 8 equals "8"
  EXPECT_EQ(find(q), ids({1}));
  q.attributes = ParseAttributeConditions("llm.cost>0.2 host.name=test-host")
                     .value();  // double; resource attr
  EXPECT_EQ(find(q), ids({1, 2, 3, 4}));
  q.attributes = ParseAttributeConditions("no.such.key=1").value();
  EXPECT_EQ(find(q), ids({}));
  // Time window and limit: newest first.
  q.attributes.clear();
  q.start_min_ns = static_cast<std::int64_t>(kT0 + 2 * kSec);
  q.start_max_ns = static_cast<std::int64_t>(kT0 + 3 * kSec + 100);
  EXPECT_EQ(find(q), ids({2, 3}));
  q.start_min_ns = q.start_max_ns = 0;
  q.limit = 1;
  auto newest = store->FindTraces(q).value();
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_EQ(TraceIds(newest), ids({4}));
  EXPECT_EQ(SpanCount(newest[0]), 4u);  // complete, not only the matching span
}

// More than 2,000 candidates for every condition: the store reads newest-arrived first and
// stops at the limit instead of collecting every match.
TEST(TraceStoreTest, SearchOverCommonConditionsReturnsTheNewestMatches) {
  TempDir dir;
  auto store = OpenStore(dir.File("t.db"));
  for (std::uint64_t batch = 0; batch < 12; ++batch) {
    ExportRequest req;
    for (std::uint64_t t = batch * 100 + 1; t <= batch * 100 + 100; ++t) {
      ExportRequest one =
          TaskTrace(t, "bulk", static_cast<int>(t % 10) + 1, "worker-" + std::to_string(t % 3),
                    kT0 + t * kSec, kSec, t % 2 == 0);
      req.add_resource_spans()->Swap(one.mutable_resource_spans(0));
    }
    ASSERT_TRUE(store->Write(std::move(req)).ok());
  }
  TraceQuery q;
  q.service = "minion-multiagent";
  q.operation = "*";
  q.attributes = ParseAttributeConditions("multiagent.worker.id=worker-1 error=true").value();
  q.limit = 3;
  auto found = store->FindTraces(q);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  // worker-1 and failed: t % 3 == 1 and t even -> 1198, 1192, 1186 are the newest.
  std::set<std::string> want{TraceIdBytes(1198), TraceIdBytes(1192), TraceIdBytes(1186)};
  EXPECT_EQ(TraceIds(*found), want);
  EXPECT_EQ(found->front().resource_spans(0).scope_spans(0).spans(0).trace_id(),
            TraceIdBytes(1198));
  q.attributes =
      ParseAttributeConditions("multiagent.task.priority>=9").value();  // t % 10 in {8, 9}
  q.limit = 2;
  EXPECT_EQ(TraceIds(store->FindTraces(q).value()),
            (std::set<std::string>{TraceIdBytes(1199), TraceIdBytes(1198)}));
}

// multiagent.message.id gets no index rows (a unique id per span): searches on it are answered
// from the spans themselves and must find exactly what an index would.
TEST(TraceStoreTest, SearchOnTheUnindexedMessageIdFindsExactlyTheMatchingTraces) {
  TempDir dir;
  auto store = OpenStore(dir.File("t.db"));
  for (std::uint64_t t = 1; t <= 30; ++t) {
    ExportRequest req = TaskTrace(t, t % 2 ? "research" : "code_generation", 5,
                                  "worker-" + std::to_string(t % 4), kT0 + t * kSec, kSec);
    auto* dispatch = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(1);
    SetString(*dispatch, "multiagent.message.id", "msg-" + std::to_string(t));
    if (t == 7) SetString(*dispatch, "multiagent.message.id", "msg-shared");
    if (t == 8) SetString(*dispatch, "multiagent.message.id", "msg-shared");
    ASSERT_TRUE(store->Write(std::move(req)).ok());
  }
  auto find = [&](const std::string& service, const std::string& conditions) {
    TraceQuery q;
    q.service = service;
    q.attributes = ParseAttributeConditions(conditions).value();
    auto r = store->FindTraces(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? TraceIds(*r) : std::set<std::string>{};
  };
  using Ids = std::set<std::string>;
  EXPECT_EQ(find("", "multiagent.message.id=msg-3"), Ids{TraceIdBytes(3)});
  EXPECT_EQ(find("minion-multiagent", "multiagent.message.id=msg-12"), Ids{TraceIdBytes(12)});
  EXPECT_EQ(find("", "multiagent.message.id=msg-shared"), (Ids{TraceIdBytes(7), TraceIdBytes(8)}));
  // With an indexed condition on the same span, and with one on another span (Jaeger's rule:
  // all conditions on one span, so nothing).
  EXPECT_EQ(find("", "operation=dispatch multiagent.message.id=msg-21"), Ids{TraceIdBytes(21)});
  EXPECT_EQ(find("", "multiagent.worker.id=worker-1 multiagent.message.id=msg-21"), Ids{});
  EXPECT_EQ(find("", "multiagent.message.id=msg-31"), Ids{});
  EXPECT_EQ(find("other-service", "multiagent.message.id=msg-3"), Ids{});
}

TEST(TraceStoreTest, InvalidIdsAreRefusedAndNothingOfTheRequestIsStored) {
  TempDir dir;
  auto store = OpenStore(dir.File("t.db"));
  ExportRequest req = TaskTrace(1, "code_generation", 8, "w", kT0, kSec);
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(2)->set_span_id("short");
  Status s = store->Write(req);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("span id must be 8"), std::string::npos) << s.message();
  EXPECT_EQ(store->GetTrace(TraceIdBytes(1)).status().code(), StatusCode::kNotFound);
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(2)->set_span_id(
      SpanIdBytes(99));
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_trace_id(
      std::string(16, '\0'));
  EXPECT_EQ(store->Write(req).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Stats().spans_written, 0u);
}

TEST(TraceStoreTest, FullQueueRefusesWithResourceExhaustedAndLosesNothingAccepted) {
  TempDir dir;
  std::latch in_commit(1), release(1);
  std::atomic<bool> first{true};
  StoreOptions o;
  o.max_queued_spans = 8;  // each request has 4 spans
  o.before_commit = [&] {
    if (first.exchange(false)) {
      in_commit.count_down();
      release.wait();
    }
  };
  auto store = OpenStore(dir.File("t.db"), o);
  // The first request occupies the writer (held before its commit) ...
  auto a = std::async(std::launch::async,
                      [&] { return store->Write(TaskTrace(1, "a", 1, "w", kT0, kSec)); });
  in_commit.wait();
  // ... the second fills the queue (admitted: the queue was empty) ...
  auto b = std::async(std::launch::async,
                      [&] { return store->Write(TaskTrace(2, "b", 1, "w", kT0, kSec)); });
  while (store->Stats().queued_spans < 8) std::this_thread::yield();
  // ... and the third finds it full.
  Status c = store->Write(TaskTrace(3, "c", 1, "w", kT0, kSec));
  EXPECT_EQ(c.code(), StatusCode::kResourceExhausted) << c.ToString();
  release.count_down();
  EXPECT_TRUE(a.get().ok());
  EXPECT_TRUE(b.get().ok());
  EXPECT_TRUE(store->GetTrace(TraceIdBytes(1)).ok());
  EXPECT_TRUE(store->GetTrace(TraceIdBytes(2)).ok());
  EXPECT_EQ(store->GetTrace(TraceIdBytes(3)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Stats().requests_refused, 1u);
}

TEST(TraceStoreTest, RetentionByAgeDeletesOldSpansAndTheirIndexRows) {
  TempDir dir;
  SimulatedClock clock(kT0 + 10 * 86400 * kSec);
  StoreOptions o;
  o.clock = &clock;
  o.retention = std::chrono::hours(24 * 7);
  o.retention_interval = std::chrono::hours(1000);  // only when asked
  auto store = OpenStore(dir.File("t.db"), o);
  ASSERT_TRUE(store->Write(TaskTrace(1, "old", 9, "worker-old", kT0, kSec)).ok());
  ASSERT_TRUE(
      store->Write(TaskTrace(2, "new", 9, "worker-new", kT0 + 9 * 86400 * kSec, kSec)).ok());
  auto deleted = store->EnforceRetention();
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 4u);
  EXPECT_EQ(store->GetTrace(TraceIdBytes(1)).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store->GetTrace(TraceIdBytes(2)).ok());
  TraceQuery q;
  q.attributes = ParseAttributeConditions("multiagent.task.priority>8").value();
  EXPECT_EQ(TraceIds(store->FindTraces(q).value()), std::set<std::string>{TraceIdBytes(2)});
  q.attributes = ParseAttributeConditions("multiagent.worker.id=worker-old").value();
  EXPECT_TRUE(store->FindTraces(q).value().empty());
}

// Splits a task trace's request into two requests: its first `head` spans and the rest.
std::pair<ExportRequest, ExportRequest> SplitTrace(const ExportRequest& whole, int head) {
  ExportRequest a = whole, b = whole;
  auto* sa = a.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans();
  auto* sb = b.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans();
  sa->DeleteSubrange(head, sa->size() - head);
  sb->DeleteSubrange(0, head);
  return {std::move(a), std::move(b)};
}

// A trace that arrived in two batches, one older than the retention and one newer: retention
// takes it whole (its newer part and that part's index rows too), never half of it.
TEST(TraceStoreTest, RetentionByAgeNeverSplitsATraceThatArrivedInTwoBatches) {
  TempDir dir;
  SimulatedClock clock(kT0 + 10 * 86400 * kSec);
  StoreOptions o;
  o.clock = &clock;
  o.retention = std::chrono::hours(24 * 7);
  o.retention_interval = std::chrono::hours(1000);  // only when asked
  auto store = OpenStore(dir.File("t.db"), o);
  // Trace 1: task + dispatch 10 days ago, worker + llm spans (as if from another process that
  // exported late) 1 day ago; trace 2 entirely recent, written between the two halves.
  ExportRequest whole = TaskTrace(1, "split", 9, "worker-split", kT0, kSec);
  auto late = whole.mutable_resource_spans(0)->mutable_scope_spans(0);
  for (int i = 2; i < late->spans_size(); ++i) {
    auto* sp = late->mutable_spans(i);
    sp->set_start_time_unix_nano(sp->start_time_unix_nano() + 9 * 86400 * kSec);
    sp->set_end_time_unix_nano(sp->end_time_unix_nano() + 9 * 86400 * kSec);
  }
  auto [old_part, new_part] = SplitTrace(whole, 2);
  ASSERT_TRUE(store->Write(old_part).ok());
  ASSERT_TRUE(
      store->Write(TaskTrace(2, "new", 9, "worker-new", kT0 + 9 * 86400 * kSec, kSec)).ok());
  ASSERT_TRUE(store->Write(new_part).ok());
  ASSERT_EQ(SpanCount(store->GetTrace(TraceIdBytes(1)).value()), 4u);

  auto deleted = store->EnforceRetention();
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 4u);  // both halves of trace 1
  EXPECT_EQ(store->Stats().spans_deleted, 4u);
  EXPECT_EQ(store->GetTrace(TraceIdBytes(1)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(SpanCount(store->GetTrace(TraceIdBytes(2)).value()), 4u);
  TraceQuery q;
  q.attributes = ParseAttributeConditions("multiagent.worker.id=worker-split").value();
  EXPECT_TRUE(store->FindTraces(q).value().empty());  // the newer half's index rows went too
  q.attributes = ParseAttributeConditions("multiagent.worker.id=worker-new").value();
  EXPECT_EQ(TraceIds(store->FindTraces(q).value()), std::set<std::string>{TraceIdBytes(2)});
  // The batch that held the newer half is now empty; a later pass deletes nothing more.
  EXPECT_EQ(store->EnforceRetention().value(), 0u);
  EXPECT_EQ(SpanCount(store->GetTrace(TraceIdBytes(2)).value()), 4u);
}

// Size retention while every trace arrives in two batches, interleaved with other traces'
// halves: afterwards (and at every point a reader looks) each trace is whole or gone.
TEST(TraceStoreTest, RetentionBySizeLeavesEveryTraceWholeOrGone) {
  TempDir dir;
  StoreOptions o;
  o.max_db_bytes = 1 << 20;
  o.retention_interval = std::chrono::hours(1000);
  auto store = OpenStore(dir.File("t.db"), o);
  const std::string big(2000, 'x');
  constexpr std::uint64_t kTraces = 300;
  std::atomic<bool> writing{true};
  std::atomic<int> write_failures{0};
  std::thread writer([&] {
    ExportRequest pending_tail;  // trace t's second half is written after trace t+1's first
    for (std::uint64_t t = 1; t <= kTraces; ++t) {
      ExportRequest req = TaskTrace(t, "bulk", 5, "w", kT0 + t * kSec, kSec);
      SetString(*req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(3), "payload",
                big);
      auto [head, tail] = SplitTrace(req, 2);
      if (!store->Write(std::move(head)).ok()) write_failures++;
      if (t > 1 && !store->Write(std::move(pending_tail)).ok()) write_failures++;
      pending_tail = std::move(tail);
    }
    if (!store->Write(std::move(pending_tail)).ok()) write_failures++;
    writing = false;
  });
  auto whole_or_gone = [&](std::uint64_t t) {
    auto found = store->GetTrace(TraceIdBytes(t));
    if (!found.ok()) return found.status().code() == StatusCode::kNotFound;
    return SpanCount(*found) == 4u;
  };
  std::uint64_t deleted = 0;
  int checks = 0, split_seen = 0;
  while (writing) {
    auto d = store->EnforceRetention();
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    deleted += *d;
    // The writer may be between a trace's halves; a trace older than that must be whole/gone.
    const std::uint64_t done = store->Stats().spans_written / 4;
    for (std::uint64_t t = 1; t + 2 < done && t <= kTraces; t += 7, ++checks)
      if (!whole_or_gone(t)) ++split_seen;
  }
  writer.join();
  deleted += store->EnforceRetention().value();
  EXPECT_EQ(write_failures.load(), 0);
  EXPECT_GT(deleted, 0u);
  EXPECT_EQ(deleted % 4, 0u) << "retention deleted part of a trace";
  EXPECT_EQ(split_seen, 0) << "of " << checks << " checks while writing";
  EXPECT_LE(store->UsedBytes().value(), o.max_db_bytes);
  std::uint64_t gone = 0;
  for (std::uint64_t t = 1; t <= kTraces; ++t) {
    EXPECT_TRUE(whole_or_gone(t)) << "trace " << t << " is split";
    if (store->GetTrace(TraceIdBytes(t)).status().code() == StatusCode::kNotFound) ++gone;
  }
  EXPECT_EQ(gone * 4, deleted);
  EXPECT_EQ(SpanCount(store->GetTrace(TraceIdBytes(kTraces)).value()), 4u);
}

TEST(TraceStoreTest, RetentionBySizeKeepsTheNewestUnderTheLimitWhileWriting) {
  TempDir dir;
  StoreOptions o;
  o.max_db_bytes = 1 << 20;
  o.retention_interval = std::chrono::hours(1000);
  auto store = OpenStore(dir.File("t.db"), o);
  const std::string big(2000, 'x');
  std::atomic<bool> writing{true};
  std::atomic<int> write_failures{0};
  std::thread writer([&] {
    for (std::uint64_t t = 1; t <= 400; ++t) {
      ExportRequest req = TaskTrace(t, "bulk", 5, "w", kT0 + t * kSec, kSec);
      SetString(*req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0), "payload",
                big);
      if (!store->Write(std::move(req)).ok()) write_failures++;
    }
    writing = false;
  });
  std::uint64_t deleted = 0;
  while (writing) {
    auto d = store->EnforceRetention();  // concurrently with the writes
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    deleted += *d;
    auto found = store->GetTrace(TraceIdBytes(1));  // queries keep working meanwhile
    ASSERT_TRUE(found.ok() || found.status().code() == StatusCode::kNotFound);
  }
  writer.join();
  deleted += store->EnforceRetention().value();
  EXPECT_EQ(write_failures.load(), 0);
  EXPECT_GT(deleted, 0u);
  EXPECT_LE(store->UsedBytes().value(), o.max_db_bytes);
  EXPECT_TRUE(store->GetTrace(TraceIdBytes(400)).ok());
  EXPECT_EQ(store->GetTrace(TraceIdBytes(1)).status().code(), StatusCode::kNotFound);
}

// Checkpoints run beside the writer (a background connection) and, at twice the threshold,
// on the writer itself so the WAL can start over: the WAL stays bounded while data reaches
// the database file, and everything stays readable, also after a reopen.
TEST(TraceStoreTest, CheckpointsKeepTheWalBoundedAndLoseNothing) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  constexpr std::uint64_t kTraces = 250;
  std::uintmax_t max_wal = 0;
  {
    StoreOptions o;
    o.checkpoint_pages = 8;  // 128 KiB: the writer checkpoints itself from 256 KiB on
    auto store = OpenStore(path, o);
    for (std::uint64_t t = 1; t <= kTraces; ++t) {
      ASSERT_TRUE(store
                      ->Write(TaskTrace(t, "bulk", 5, "worker-" + std::to_string(t % 50),
                                        kT0 + t * kSec, kSec))
                      .ok());
      std::error_code ec;
      const auto wal = std::filesystem::file_size(path + "-wal", ec);
      if (!ec) max_wal = std::max(max_wal, wal);
    }
    // Without checkpoints the database file would still be (nearly) empty, everything being in
    // the WAL, which would hold a commit of several 16 KiB pages per trace (250 commits: over
    // 15 MiB). With them the file holds most of the 1,000 spans and the WAL stays small.
    EXPECT_GT(std::filesystem::file_size(path), 256u << 10);
    EXPECT_LT(max_wal, 3u << 20);
    for (std::uint64_t t = 1; t <= kTraces; t += 37) {
      auto trace = store->GetTrace(TraceIdBytes(t));
      ASSERT_TRUE(trace.ok()) << t << ": " << trace.status().ToString();
      EXPECT_EQ(SpanCount(*trace), 4u);
    }
  }
  auto store = OpenStore(path);
  TraceQuery q;
  q.service = "minion-multiagent";
  q.attributes = ParseAttributeConditions("multiagent.worker.id=worker-7").value();
  q.limit = 100;
  EXPECT_EQ(store->FindTraces(q).value().size(), kTraces / 50);
  EXPECT_TRUE(store->GetTrace(TraceIdBytes(kTraces)).ok());
}

TEST(TraceStoreTest, ReopenServesEverythingCommittedBefore) {
  TempDir dir;
  {
    auto store = OpenStore(dir.File("t.db"));
    ASSERT_TRUE(store->Write(TaskTrace(1, "a", 8, "worker-789", kT0, kSec)).ok());
    store->Shutdown();
    EXPECT_EQ(store->Write(TaskTrace(2, "a", 8, "w", kT0, kSec)).code(), StatusCode::kUnavailable);
  }
  auto store = OpenStore(dir.File("t.db"));
  EXPECT_TRUE(store->GetTrace(TraceIdBytes(1)).ok());
  ASSERT_TRUE(store->Write(TaskTrace(3, "a", 9, "worker-789", kT0 + kSec, kSec))
                  .ok());  // caches start empty
  TraceQuery q;
  q.attributes = ParseAttributeConditions("multiagent.worker.id=worker-789").value();
  EXPECT_EQ(store->FindTraces(q).value().size(), 2u);
}

}  // namespace
}  // namespace minion::store
