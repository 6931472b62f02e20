// One typed suite, run against every backend: they must be interchangeable.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "minion/storage/memory_storage.h"
#include "minion/storage/sqlite_storage.h"
#include "support/tracing_rig.h"

namespace minion::storage {
namespace {

namespace fs = std::filesystem;
using ::minion::testing::IntAttr;
using ::minion::testing::StrAttr;
using ::testing::ElementsAre;

struct MemoryBackend {
  static constexpr std::string_view kSystem = "memory";
  std::unique_ptr<Storage> Make(std::shared_ptr<trace::Tracer> tracer) {
    return std::make_unique<MemoryStorage>(tracer);
  }
};

struct SqliteBackend {
  static constexpr std::string_view kSystem = "sqlite";
  SqliteBackend() {
    std::random_device rd;
    dir = fs::temp_directory_path() /
          ("minion-storage-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir);
  }
  ~SqliteBackend() { fs::remove_all(dir); }
  std::unique_ptr<Storage> Make(std::shared_ptr<trace::Tracer> tracer) {
    SqliteStorageOptions options;
    options.path = (dir / "test.db").string();
    options.tracer = tracer;
    auto s = SqliteStorage::Open(options);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::unique_ptr<Storage>(std::move(s).value()) : nullptr;
  }
  fs::path dir;
};

template <typename Backend>
class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = backend_.Make(capture_.tracer);
    ASSERT_NE(storage_, nullptr);
  }
  std::vector<std::string> Keys(std::string_view collection, ListOptions options = {}) {
    auto r = storage_->List(ctx_, collection, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> out;
    if (r.ok())
      for (auto& e : *r) out.push_back(e.key);
    return out;
  }

  minion::testing::TracingRig capture_;
  Backend backend_;
  std::unique_ptr<Storage> storage_;
  trace::Context ctx_;
};

using Backends = ::testing::Types<MemoryBackend, SqliteBackend>;
TYPED_TEST_SUITE(StorageTest, Backends);

TYPED_TEST(StorageTest, PutGetRoundTrip) {
  ASSERT_TRUE(this->storage_->Put(this->ctx_, "results", "task-1", "done").ok());
  auto v = this->storage_->Get(this->ctx_, "results", "task-1");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "done");
  EXPECT_EQ(this->storage_->System(), TypeParam::kSystem);
}

TYPED_TEST(StorageTest, PutReplaces) {
  ASSERT_TRUE(this->storage_->Put(this->ctx_, "c", "k", "v1").ok());
  ASSERT_TRUE(this->storage_->Put(this->ctx_, "c", "k", "v2").ok());
  EXPECT_EQ(*this->storage_->Get(this->ctx_, "c", "k"), "v2");
  EXPECT_EQ(this->Keys("c").size(), 1u);
}

TYPED_TEST(StorageTest, CollectionsAreSeparate) {
  ASSERT_TRUE(this->storage_->Put(this->ctx_, "a", "k", "in a").ok());
  ASSERT_TRUE(this->storage_->Put(this->ctx_, "b", "k", "in b").ok());
  EXPECT_EQ(*this->storage_->Get(this->ctx_, "a", "k"), "in a");
  EXPECT_EQ(*this->storage_->Get(this->ctx_, "b", "k"), "in b");
  ASSERT_TRUE(this->storage_->Delete(this->ctx_, "a", "k").ok());
  EXPECT_EQ(*this->storage_->Get(this->ctx_, "b", "k"), "in b");
}

TYPED_TEST(StorageTest, MissingKeysAreNotFound) {
  auto v = this->storage_->Get(this->ctx_, "c", "absent");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->storage_->Delete(this->ctx_, "c", "absent").code(), StatusCode::kNotFound);
  // NotFound is an answer: the spans are not errors.
  for (const auto& s : this->capture_.Spans()) {
    EXPECT_NE(s.status, trace::SpanStatusCode::kError) << s.name;
  }
}

TYPED_TEST(StorageTest, DeleteRemoves) {
  ASSERT_TRUE(this->storage_->Put(this->ctx_, "c", "k", "v").ok());
  ASSERT_TRUE(this->storage_->Delete(this->ctx_, "c", "k").ok());
  EXPECT_EQ(this->storage_->Get(this->ctx_, "c", "k").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(this->Keys("c").empty());
}

TYPED_TEST(StorageTest, ListIsOrderedAndFiltersByPrefixWithLimit) {
  for (const char* k : {"task-3", "task-1", "plan", "task-2", "tasl", "task"}) {
    ASSERT_TRUE(this->storage_->Put(this->ctx_, "c", k, std::string("v-") + k).ok());
  }
  ASSERT_TRUE(this->storage_->Put(this->ctx_, "other", "task-9", "x").ok());
  EXPECT_THAT(this->Keys("c"), ElementsAre("plan", "task", "task-1", "task-2", "task-3", "tasl"));
  EXPECT_THAT(this->Keys("c", {.prefix = "task-"}), ElementsAre("task-1", "task-2", "task-3"));
  EXPECT_THAT(this->Keys("c", {.prefix = "task-", .limit = 2}), ElementsAre("task-1", "task-2"));
  EXPECT_TRUE(this->Keys("c", {.prefix = "zzz"}).empty());
  EXPECT_TRUE(this->Keys("nothing-here").empty());
  auto entries = this->storage_->List(this->ctx_, "c", {.prefix = "plan"});
  ASSERT_TRUE(entries.ok());
  EXPECT_THAT(*entries, ElementsAre(Entry{"plan", "v-plan"}));
}

TYPED_TEST(StorageTest, BinaryKeysAndValuesAreBytewise) {
  const std::string nul_value("a\0b\xff", 4);
  const std::string high_key("k\xff\xff", 3);
  ASSERT_TRUE(this->storage_->Put(this->ctx_, "bin", high_key, nul_value).ok());
  ASSERT_TRUE(this->storage_->Put(this->ctx_, "bin", "k\x01", "").ok());
  ASSERT_TRUE(this->storage_->Put(this->ctx_, "bin", "l", "after").ok());
  EXPECT_EQ(*this->storage_->Get(this->ctx_, "bin", high_key), nul_value);
  EXPECT_EQ(*this->storage_->Get(this->ctx_, "bin", "k\x01"), "");
  // 0xFF sorts after 0x01 (unsigned), and a prefix ending in 0xFF still has its bound.
  EXPECT_THAT(this->Keys("bin"), ElementsAre("k\x01", high_key, "l"));
  EXPECT_THAT(this->Keys("bin", {.prefix = "k\xff"}), ElementsAre(high_key));
  EXPECT_THAT(this->Keys("bin", {.prefix = "k"}), ElementsAre("k\x01", high_key));
}

TYPED_TEST(StorageTest, EmptyNamesAreRejected) {
  EXPECT_EQ(this->storage_->Put(this->ctx_, "", "k", "v").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(this->storage_->Put(this->ctx_, "c", "", "v").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(this->storage_->Get(this->ctx_, "c", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(this->storage_->List(this->ctx_, "").status().code(), StatusCode::kInvalidArgument);
  auto spans = this->capture_.SpansNamed("storage.insert");
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].status, trace::SpanStatusCode::kError);
}

TYPED_TEST(StorageTest, EachOperationOpensItsSpan) {
  auto parent =
      observability::StartSpan(*this->capture_.tracer, trace::Context(), "worker.code_generation",
                               observability::Component::kWorker);
  ASSERT_TRUE(this->storage_->Put(parent.context, "results", "k", "v").ok());
  ASSERT_TRUE(this->storage_->Get(parent.context, "results", "k").ok());
  ASSERT_TRUE(this->storage_->List(parent.context, "results").ok());
  ASSERT_TRUE(this->storage_->Delete(parent.context, "results", "k").ok());
  parent.span.End();
  std::vector<std::string> names;
  for (const auto& s : this->capture_.Spans()) {
    if (s.name.rfind("storage.", 0) != 0) continue;
    names.push_back(s.name);
    EXPECT_EQ(s.kind, trace::SpanKind::kClient);
    EXPECT_EQ(s.parent_span_id, parent.span.GetContext().span_id()) << s.name;
    EXPECT_EQ(StrAttr(s, "db.system.name"), TypeParam::kSystem) << s.name;
    EXPECT_EQ(StrAttr(s, "db.collection.name"), "results") << s.name;
    EXPECT_EQ("storage." + StrAttr(s, "db.operation.name"), s.name);
    EXPECT_NE(s.status, trace::SpanStatusCode::kError) << s.name;
  }
  EXPECT_THAT(names,
              ElementsAre("storage.insert", "storage.get", "storage.list", "storage.delete"));
  auto list = this->capture_.SpansNamed("storage.list");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(IntAttr(list[0], "db.response.returned_rows"), 1);
}

TYPED_TEST(StorageTest, ConcurrentWritersAndReaders) {
  constexpr int kThreads = 4;
  constexpr int kOps = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string coll = "shared";
      for (int i = 0; i < kOps; ++i) {
        std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!this->storage_->Put(this->ctx_, coll, key, std::to_string(i)).ok()) ++failures;
        auto v = this->storage_->Get(this->ctx_, coll, key);
        if (!v.ok() || *v != std::to_string(i)) ++failures;
        if (!this->storage_->List(this->ctx_, coll, {.prefix = "t" + std::to_string(t) + "-"}).ok())
          ++failures;
        if (i % 2 == 0 && !this->storage_->Delete(this->ctx_, coll, key).ok()) ++failures;
        // Everyone also rewrites one hot key.
        if (!this->storage_->Put(this->ctx_, coll, "hot", key).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto all = this->storage_->List(this->ctx_, "shared");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(),
            static_cast<std::size_t>(kThreads * kOps / 2 + 1));  // odd i survive, + hot
}

// SQLite specifics: the journal is WAL, and data survives reopening.
TEST(SqliteStorageTest, UsesWalAndPersistsAcrossReopen) {
  SqliteBackend backend;
  minion::testing::TracingRig capture;
  {
    auto s = backend.Make(capture.tracer);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(static_cast<SqliteStorage*>(s.get())->JournalMode(), "wal");
    ASSERT_TRUE(s->Put(trace::Context(), "c", "k", "persisted").ok());
  }
  auto again = backend.Make(capture.tracer);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(*again->Get(trace::Context(), "c", "k"), "persisted");
  auto spans = capture.SpansNamed("storage.get");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_THAT(StrAttr(spans[0], "db.query.text"),
              ::testing::HasSubstr("SELECT value FROM minion_kv"));
}

TEST(SqliteStorageTest, UnopenablePathIsAnError) {
  SqliteStorageOptions options;
  options.path = "/nonexistent-dir-for-minion/x.db";
  auto s = SqliteStorage::Open(options);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), ::testing::HasSubstr("/nonexistent-dir-for-minion/x.db"));
  EXPECT_FALSE(SqliteStorage::Open({}).ok());
}

TEST(SqliteStorageTest, NotADatabaseIsDataLoss) {
  SqliteBackend backend;
  { std::ofstream(backend.dir / "test.db") << std::string(8192, 'x'); }
  minion::testing::TracingRig capture;
  SqliteStorageOptions options;
  options.path = (backend.dir / "test.db").string();
  auto s = SqliteStorage::Open(options);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace minion::storage
