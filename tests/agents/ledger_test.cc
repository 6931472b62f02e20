#include "minion/agents/ledger.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <sqlite3.h>

#include <cstdio>

namespace minion::agents {
namespace {

void Exercise(Ledger& ledger) {
  ASSERT_TRUE(
      ledger.RecordTask({"t1", "Generate", "code_generation", 8, "running", "", "direct", 10, 0})
          .ok());
  ASSERT_TRUE(
      ledger
          .RecordSubtask({"t1", "s1", "s1", "code_generation", "coder-1", "running", 1, "", 11, 0})
          .ok());
  ASSERT_TRUE(ledger
                  .RecordSubtask(
                      {"t1", "s1", "s1", "code_generation", "coder-1", "succeeded", 1, "", 11, 20})
                  .ok());
  ASSERT_TRUE(ledger.RecordStep({"t1", "s1", "dispatch", "attempt 1", 12}).ok());
  ASSERT_TRUE(ledger.RecordStep({"t1", "s1", "result", "ok", 19}).ok());
  ASSERT_TRUE(
      ledger.RecordTask({"t1", "Generate", "code_generation", 8, "succeeded", "", "direct", 10, 21})
          .ok());

  auto tasks = ledger.Tasks();
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ((*tasks)[0].status, "succeeded");
  EXPECT_EQ((*tasks)[0].priority, 8);
  EXPECT_EQ((*tasks)[0].finished_at, 21u);
  auto subtasks = ledger.Subtasks("t1");
  ASSERT_TRUE(subtasks.ok());
  ASSERT_EQ(subtasks->size(), 1u);
  EXPECT_EQ((*subtasks)[0].status, "succeeded");
  EXPECT_EQ((*subtasks)[0].worker_id, "coder-1");
  auto steps = ledger.Steps("t1");
  ASSERT_TRUE(steps.ok());
  ASSERT_EQ(steps->size(), 2u);
  EXPECT_EQ((*steps)[0].kind, "dispatch");
  EXPECT_EQ((*steps)[1].kind, "result");
}

TEST(LedgerTest, InMemoryRecordsTasksSubtasksAndSteps) {
  InMemoryLedger ledger;
  Exercise(ledger);
  EXPECT_EQ(ledger.Subtasks("nope").status().code(), StatusCode::kNotFound);
}

TEST(LedgerTest, InMemoryEvictsOldestTasks) {
  InMemoryLedger ledger(2);
  for (std::string id : {"a", "b", "c"})
    ASSERT_TRUE(ledger.RecordTask({id, "", "", 5, "", "", "", 0, 0}).ok());
  auto tasks = ledger.Tasks();
  ASSERT_EQ(tasks->size(), 2u);
  EXPECT_EQ((*tasks)[0].task_id, "b");
}

TEST(LedgerTest, SqlitePersistsAcrossReopen) {
  std::string path = "/tmp/minion_ledger_test_" + std::to_string(::getpid()) + ".db";
  std::remove(path.c_str());
  {
    auto ledger = OpenSqliteLedger(path);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    Exercise(**ledger);
  }
  auto reopened = OpenSqliteLedger(path);
  ASSERT_TRUE(reopened.ok());
  auto steps = (*reopened)->Steps("t1");
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(steps->size(), 2u);
  for (auto suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  auto bad = OpenSqliteLedger("/nonexistent-dir/x.db");
  EXPECT_EQ(bad.status().code(), StatusCode::kUnavailable);
}

std::string TempDb(const std::string& name) {
  std::string path = "/tmp/minion_ledger_test_" + name + "_" + std::to_string(::getpid()) + ".db";
  for (auto suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path + suffix).c_str());
  return path;
}

void Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

TEST(LedgerTest, SqliteKeepsEverythingAResumeNeeds) {
  const std::string path = TempDb("v2");
  {
    auto ledger = OpenSqliteLedger(path);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    TaskRecord t{"t1", "Ship", "workflow", 7, "running", "", "workflow", 10, 0};
    t.description = "ship it";
    t.input = R"({"goal":"x"})";
    t.plan = R"({"subtasks":[{"name":"a"}]})";
    t.trace_id = std::string(32, 'a');
    t.span_id = std::string(16, 'b');
    ASSERT_TRUE((*ledger)->RecordTask(t).ok());
    SubtaskRecord second{"t1", "b", "b", "code_review", "reviewer-1", "pending", 0, "", 0, 0};
    second.position = 1;
    second.dependencies = {"a"};
    SubtaskRecord first{"t1", "a", "a", "code_generation", "coder-1", "succeeded", 2, "", 11, 12};
    first.input = R"({"n":1})";
    first.output = R"({"text":"done"})";
    ASSERT_TRUE((*ledger)->RecordSubtask(second).ok());  // out of order: position decides
    ASSERT_TRUE((*ledger)->RecordSubtask(first).ok());
  }
  auto ledger = OpenSqliteLedger(path);
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  auto t = (*ledger)->Task("t1");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->description, "ship it");
  EXPECT_EQ(t->input, R"({"goal":"x"})");
  EXPECT_EQ(t->plan, R"({"subtasks":[{"name":"a"}]})");
  EXPECT_EQ(t->trace_id, std::string(32, 'a'));
  EXPECT_EQ(t->span_id, std::string(16, 'b'));
  EXPECT_FALSE(t->truncated);
  EXPECT_EQ((*ledger)->Task("nope").status().code(), StatusCode::kNotFound);
  auto subs = (*ledger)->Subtasks("t1");
  ASSERT_TRUE(subs.ok());
  ASSERT_EQ(subs->size(), 2u);
  EXPECT_EQ((*subs)[0].name, "a");
  EXPECT_EQ((*subs)[0].attempts, 2);
  EXPECT_EQ((*subs)[0].input, R"({"n":1})");
  EXPECT_EQ((*subs)[0].output, R"({"text":"done"})");
  EXPECT_EQ((*subs)[1].dependencies, std::vector<std::string>{"a"});
  EXPECT_EQ((*subs)[1].position, 1);
}

TEST(LedgerTest, LongOutputsAreCutAtAUtf8BoundaryAndMarked) {
  // Appended, not operator+: gcc 12 reports a false -Warray-bounds on `std::string(n, c) + "..."`.
  std::string text(kLedgerMaxTextBytes - 1, 'x');
  text += "\xc3\xa9tail";  // 2-byte char straddles
  std::string cut = text;
  EXPECT_TRUE(TruncateLedgerText(cut));
  EXPECT_EQ(cut.size(), kLedgerMaxTextBytes - 1);  // the whole "é" is dropped, not half of it
  std::string small = "short";
  EXPECT_FALSE(TruncateLedgerText(small));

  for (bool sqlite : {false, true}) {
    const std::string path = TempDb("trunc");
    std::unique_ptr<Ledger> ledger;
    if (sqlite) {
      auto opened = OpenSqliteLedger(path);
      ASSERT_TRUE(opened.ok());
      ledger = std::move(*opened);
    } else {
      ledger = std::make_unique<InMemoryLedger>();
    }
    SubtaskRecord s{"t", "s", "s", "c", "w", "succeeded", 1, "", 1, 2};
    s.output = text;
    ASSERT_TRUE(ledger->RecordSubtask(s).ok());
    TaskRecord t{"t", "n", "x", 5, "running", "", "direct", 1, 0};
    t.input = text;
    ASSERT_TRUE(ledger->RecordTask(t).ok());
    auto subs = ledger->Subtasks("t");
    ASSERT_TRUE(subs.ok());
    EXPECT_TRUE((*subs)[0].output_truncated) << sqlite;
    EXPECT_EQ((*subs)[0].output.size(), kLedgerMaxTextBytes - 1);
    auto task = ledger->Task("t");
    ASSERT_TRUE(task.ok());
    EXPECT_TRUE(task->truncated);
    ledger.reset();
    for (auto suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  }
}

TEST(LedgerTest, SchemaOneLedgerIsMigratedKeepingItsRows) {
  const std::string path = TempDb("v1");
  // The tables exactly as the first SQLite ledger created them (no user_version).
  Sql(path,
      "CREATE TABLE tasks(task_id TEXT PRIMARY KEY, name TEXT, type TEXT, priority INTEGER, status "
      "TEXT,"
      " error TEXT, planner TEXT, started_at INTEGER, finished_at INTEGER);"
      "CREATE TABLE subtasks(task_id TEXT, subtask_id TEXT, name TEXT, capability TEXT, worker_id "
      "TEXT,"
      " status TEXT, attempts INTEGER, error TEXT, started_at INTEGER, finished_at INTEGER,"
      " PRIMARY KEY(task_id, subtask_id));"
      "CREATE TABLE steps(seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT, subtask_id TEXT, "
      "kind TEXT,"
      " detail TEXT, time INTEGER);"
      "INSERT INTO tasks VALUES('old','Old','code_generation',5,'succeeded','','direct',1,2);"
      "INSERT INTO subtasks "
      "VALUES('old','s','s','code_generation','coder-1','succeeded',1,'',1,2);");
  auto ledger = OpenSqliteLedger(path);
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  auto t = (*ledger)->Task("old");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->name, "Old");
  EXPECT_EQ(t->plan, "");
  auto subs = (*ledger)->Subtasks("old");
  ASSERT_TRUE(subs.ok());
  ASSERT_EQ(subs->size(), 1u);
  EXPECT_EQ((*subs)[0].worker_id, "coder-1");
  // New rows with the new fields go into the migrated file, and it reopens as version 2.
  SubtaskRecord s{"old", "s2", "s2", "c", "w", "succeeded", 1, "", 3, 4};
  s.output = "\"out\"";
  ASSERT_TRUE((*ledger)->RecordSubtask(s).ok());
  ledger->reset();
  auto again = OpenSqliteLedger(path);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto subs2 = (*again)->Subtasks("old");
  ASSERT_TRUE(subs2.ok());
  ASSERT_EQ(subs2->size(), 2u);
  EXPECT_EQ((*subs2)[1].output, "\"out\"");
  for (auto suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

TEST(LedgerTest, SchemaTwoLedgerIsMigratedToThreeWithUsage) {
  const std::string path = TempDb("v2to3");
  // Version 2's tables exactly as it created them, with a row in each.
  Sql(path,
      "CREATE TABLE tasks(task_id TEXT PRIMARY KEY, name TEXT, type TEXT, priority INTEGER, status "
      "TEXT,"
      " error TEXT, planner TEXT, started_at INTEGER, finished_at INTEGER, description TEXT "
      "DEFAULT '',"
      " input TEXT DEFAULT '', plan TEXT DEFAULT '', trace_id TEXT DEFAULT '', span_id TEXT "
      "DEFAULT '',"
      " truncated INTEGER DEFAULT 0);"
      "CREATE TABLE subtasks(task_id TEXT, subtask_id TEXT, name TEXT, capability TEXT, worker_id "
      "TEXT,"
      " status TEXT, attempts INTEGER, error TEXT, started_at INTEGER, finished_at INTEGER,"
      " position INTEGER DEFAULT 0, dependencies TEXT DEFAULT '', input TEXT DEFAULT '',"
      " output TEXT DEFAULT '', output_truncated INTEGER DEFAULT 0, PRIMARY KEY(task_id, "
      "subtask_id));"
      "CREATE TABLE steps(seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT, subtask_id TEXT, "
      "kind TEXT,"
      " detail TEXT, time INTEGER);"
      "INSERT INTO tasks(task_id, name, status, plan, trace_id) "
      "VALUES('v2','Two','running','{\"subtasks\":[]}',"
      " '0af7651916cd43dd8448eb211c80319c');"
      "INSERT INTO subtasks(task_id, subtask_id, name, status, output) "
      "VALUES('v2','s','s','succeeded','\"x\"');"
      "PRAGMA user_version = 2;");
  {
    auto ledger = OpenSqliteLedger(path);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    auto t = (*ledger)->Task("v2");
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->trace_id, "0af7651916cd43dd8448eb211c80319c");  // kept
    EXPECT_EQ(t->usage.llm_calls, 0);                            // none recorded then
    EXPECT_FALSE(t->usage.cost_usd.has_value());                 // unknown, not 0
    auto subs = (*ledger)->Subtasks("v2");
    ASSERT_TRUE(subs.ok());
    ASSERT_EQ(subs->size(), 1u);
    EXPECT_EQ((*subs)[0].output, "\"x\"");
    EXPECT_EQ((*subs)[0].usage.input_tokens, 0);
    // Usage written into the migrated file reads back exactly, a cost of 0 as 0 (not unknown).
    SubtaskRecord s{"v2", "s2", "s2", "c", "w", "succeeded", 1, "", 3, 4};
    s.usage = LedgerUsage{
        R"([{"model":"gpt-4o","provider":"openai","input_tokens":7,"output_tokens":9,"llm_calls":1}])",
        7, 9, 1, 0.1 + 0.2};
    ASSERT_TRUE((*ledger)->RecordSubtask(s).ok());
    TaskRecord t2 = *t;
    t2.usage = LedgerUsage{"", 7, 9, 1, 0.0};
    t2.planner_usage = "[]";
    ASSERT_TRUE((*ledger)->RecordTask(t2).ok());
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), 3);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  auto again = OpenSqliteLedger(path);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto subs = (*again)->Subtasks("v2");
  ASSERT_TRUE(subs.ok());
  ASSERT_EQ(subs->size(), 2u);
  EXPECT_EQ((*subs)[1].usage.input_tokens, 7);
  EXPECT_EQ((*subs)[1].usage.output_tokens, 9);
  EXPECT_EQ((*subs)[1].usage.llm_calls, 1);
  ASSERT_TRUE((*subs)[1].usage.cost_usd.has_value());
  EXPECT_DOUBLE_EQ(*(*subs)[1].usage.cost_usd, 0.1 + 0.2);  // SQLite gives REALs back to 15 digits
  EXPECT_NE((*subs)[1].usage.by_model.find("gpt-4o"), std::string::npos);
  auto t = (*again)->Task("v2");
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t->usage.cost_usd.has_value());
  EXPECT_EQ(*t->usage.cost_usd, 0.0);
  EXPECT_EQ(t->planner_usage, "[]");
  again->reset();
  for (auto suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

TEST(LedgerTest, NewerSchemaIsRefusedNamingBothVersions) {
  const std::string path = TempDb("v99");
  Sql(path, "CREATE TABLE tasks(task_id TEXT); PRAGMA user_version = 99;");
  auto ledger = OpenSqliteLedger(path);
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(ledger.status().message().find("schema version 99"), std::string::npos)
      << ledger.status().message();
  EXPECT_NE(ledger.status().message().find("(3)"), std::string::npos) << ledger.status().message();
  for (auto suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

}  // namespace
}  // namespace minion::agents
