// Storage tools over the real memory and SQLite storages, through a ToolRegistry: each call
// produces tool.<name> with the storage span (storage.insert, storage.get, storage.list) under it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "minion/storage/memory_storage.h"
#include "minion/storage/sqlite_storage.h"
#include "minion/tools/builtin.h"
#include "minion/tools/storage_tools.h"
#include "support/tracing_rig.h"

namespace minion::tools {
namespace {

namespace fs = std::filesystem;
using ::minion::testing::StrAttr;
using nlohmann::json;
using ::testing::HasSubstr;

class StorageToolsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      storage_ = std::make_shared<storage::MemoryStorage>(capture_.tracer);
    } else {
      db_ = fs::temp_directory_path() /
            ("minion_storage_tools_" + std::to_string(::getpid()) + ".db");
      fs::remove(db_);
      auto opened = storage::SqliteStorage::Open({.path = db_.string(), .tracer = capture_.tracer});
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      storage_ = std::shared_ptr<storage::Storage>(std::move(opened).value());
    }
    ASSERT_TRUE(
        RegisterStorageTools(registry_,
                             {.storage = storage_, .max_value_bytes = 1000, .max_query_results = 3})
            .ok());
  }
  void TearDown() override {
    storage_.reset();
    if (!db_.empty()) fs::remove(db_);
  }
  minion::testing::TracingRig capture_;
  ToolRegistry registry_{capture_.tracer};
  std::shared_ptr<storage::Storage> storage_;
  fs::path db_;
};

TEST_P(StorageToolsTest, InsertGetAndQueryRoundTripWithStorageSpansUnderToolSpans) {
  auto put =
      registry_.Invoke({}, "storage_insert",
                       {{"collection", "artifacts"}, {"key", "a/1"}, {"value", "code"}}, "call_1");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ((*put)["bytes"], 4);
  ASSERT_TRUE(registry_
                  .Invoke({}, "storage_insert",
                          {{"collection", "artifacts"}, {"key", "a/2"}, {"value", {{"lines", 3}}}})
                  .ok());
  auto got = registry_.Invoke({}, "storage_get", {{"collection", "artifacts"}, {"key", "a/2"}});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["found"], true);
  EXPECT_EQ(json::parse((*got)["value"].get<std::string>())["lines"], 3);
  auto missing =
      registry_.Invoke({}, "storage_get", {{"collection", "artifacts"}, {"key", "nope"}});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ((*missing)["found"], false);
  auto listed =
      registry_.Invoke({}, "storage_query", {{"collection", "artifacts"}, {"prefix", "a/"}});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ((*listed)["entries"].size(), 2u);
  EXPECT_EQ((*listed)["entries"][0]["key"], "a/1");
  EXPECT_EQ((*listed)["truncated"], false);

  auto insert_spans = capture_.SpansNamed("storage.insert");
  auto tool_spans = capture_.SpansNamed("tool.storage_insert");
  ASSERT_EQ(insert_spans.size(), 2u);
  ASSERT_EQ(tool_spans.size(), 2u);
  EXPECT_EQ(insert_spans[0].parent_span_id, tool_spans[0].span_id);
  EXPECT_EQ(StrAttr(insert_spans[0], "db.system.name"), GetParam());
  EXPECT_EQ(StrAttr(insert_spans[0], "db.collection.name"), "artifacts");
  EXPECT_EQ(StrAttr(tool_spans[0], "gen_ai.tool.call.id"), "call_1");
  EXPECT_EQ(capture_.SpansNamed("storage.get").size(), 2u);
  EXPECT_EQ(capture_.SpansNamed("storage.list").size(), 1u);
}

TEST_P(StorageToolsTest, QueryIsBoundedAndSaysWhenCut) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(registry_
                    .Invoke({}, "storage_insert",
                            {{"collection", "c"}, {"key", "k" + std::to_string(i)}, {"value", "v"}})
                    .ok());
  }
  auto all = registry_.Invoke({}, "storage_query", {{"collection", "c"}});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)["entries"].size(), 3u);  // max_query_results
  EXPECT_EQ((*all)["truncated"], true);
  auto two = registry_.Invoke({}, "storage_query", {{"collection", "c"}, {"limit", 2}});
  EXPECT_EQ((*two)["entries"].size(), 2u);
  EXPECT_EQ(
      registry_.Invoke({}, "storage_query", {{"collection", "c"}, {"limit", 0}}).status().code(),
      StatusCode::kInvalidArgument);
}

TEST_P(StorageToolsTest, OversizedAndEmptyInputsAreRefusedClearly) {
  auto big = registry_.Invoke(
      {}, "storage_insert", {{"collection", "c"}, {"key", "k"}, {"value", std::string(1001, 'x')}});
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(big.status().message(), HasSubstr("more than the 1000 allowed"));
  auto empty =
      registry_.Invoke({}, "storage_insert", {{"collection", ""}, {"key", "k"}, {"value", "v"}});
  EXPECT_THAT(empty.status().message(), HasSubstr("collection is empty"));
  auto long_key =
      registry_.Invoke({}, "storage_get", {{"collection", "c"}, {"key", std::string(300, 'k')}});
  EXPECT_THAT(long_key.status().message(), HasSubstr("longer than 256 bytes"));
  EXPECT_TRUE(capture_.SpansNamed("storage.insert").empty());  // nothing reached the storage
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageToolsTest, ::testing::Values("memory", "sqlite"));

TEST(TaskWorkspaceTest, OneFolderPerTaskThatCannotEscapeTheBase) {
  const fs::path base = fs::temp_directory_path() / ("minion_ws_" + std::to_string(::getpid()));
  fs::remove_all(base);
  auto a = TaskWorkspace(base, "task-123");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, base / "task-123");
  EXPECT_TRUE(fs::is_directory(*a));
  for (const char* hostile : {"../../etc", "..", "/abs", "a/b"}) {
    auto w = TaskWorkspace(base, hostile);
    ASSERT_TRUE(w.ok()) << hostile;
    EXPECT_EQ(w->parent_path(), base) << hostile;
    EXPECT_NE(w->filename(), "..");
  }
  EXPECT_EQ(TaskWorkspace(base, "").status().code(), StatusCode::kInvalidArgument);
  fs::remove_all(base);
}

}  // namespace
}  // namespace minion::tools
