#include "minion/agents/ledger.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

namespace minion::agents {
namespace {

void Exercise(Ledger& ledger) {
  ASSERT_TRUE(ledger.RecordTask({"t1", "Generate", "code_generation", 8, "running", "", "direct", 10, 0}).ok());
  ASSERT_TRUE(ledger.RecordSubtask({"t1", "s1", "s1", "code_generation", "coder-1", "running", 1, "", 11, 0}).ok());
  ASSERT_TRUE(ledger.RecordSubtask({"t1", "s1", "s1", "code_generation", "coder-1", "succeeded", 1, "", 11, 20}).ok());
  ASSERT_TRUE(ledger.RecordStep({"t1", "s1", "dispatch", "attempt 1", 12}).ok());
  ASSERT_TRUE(ledger.RecordStep({"t1", "s1", "result", "ok", 19}).ok());
  ASSERT_TRUE(ledger.RecordTask({"t1", "Generate", "code_generation", 8, "succeeded", "", "direct", 10, 21}).ok());

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
  for (std::string id : {"a", "b", "c"}) ASSERT_TRUE(ledger.RecordTask({id, "", "", 5, "", "", "", 0, 0}).ok());
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

}  // namespace
}  // namespace minion::agents
