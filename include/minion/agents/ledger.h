#pragma once
// Ledgers: the task ledger (every task and subtask with its current state) and the progress
// ledger (an append-only log of steps: planned, dispatched, retried, finished...). The
// orchestrator writes both; operators read them. In memory by default, SQLite when a path is
// given. Implementations are thread-safe.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "minion/common/clock.h"
#include "minion/common/status.h"

namespace minion::agents {

struct TaskRecord {
  std::string task_id;
  std::string name;
  std::string type;
  int priority = 5;
  std::string status;  // "running", "succeeded", "failed"
  std::string error;
  std::string planner;
  UnixNanos started_at = 0;
  UnixNanos finished_at = 0;
};

struct SubtaskRecord {
  std::string task_id;
  std::string subtask_id;
  std::string name;
  std::string capability;
  std::string worker_id;
  std::string status;  // "pending", "running", "succeeded", "failed", "skipped"
  int attempts = 0;
  std::string error;
  UnixNanos started_at = 0;
  UnixNanos finished_at = 0;
};

struct StepRecord {
  std::string task_id;
  std::string subtask_id;  // empty for task-level steps
  std::string kind;        // "plan", "dispatch", "result", "error", "retry", "timeout", "replan", "done"
  std::string detail;
  UnixNanos time = 0;
};

class Ledger {
 public:
  virtual ~Ledger() = default;
  // Insert or replace by task_id.
  virtual Status RecordTask(const TaskRecord& task) = 0;
  // Insert or replace by (task_id, subtask_id).
  virtual Status RecordSubtask(const SubtaskRecord& subtask) = 0;
  virtual Status RecordStep(const StepRecord& step) = 0;

  virtual Result<std::vector<TaskRecord>> Tasks() const = 0;
  virtual Result<std::vector<SubtaskRecord>> Subtasks(const std::string& task_id) const = 0;
  virtual Result<std::vector<StepRecord>> Steps(const std::string& task_id) const = 0;
};

// Keeps the most recent `max_tasks` tasks (with their subtasks and steps).
class InMemoryLedger final : public Ledger {
 public:
  explicit InMemoryLedger(std::size_t max_tasks = 10000) : max_tasks_(max_tasks) {}
  Status RecordTask(const TaskRecord& task) override;
  Status RecordSubtask(const SubtaskRecord& subtask) override;
  Status RecordStep(const StepRecord& step) override;
  Result<std::vector<TaskRecord>> Tasks() const override;
  Result<std::vector<SubtaskRecord>> Subtasks(const std::string& task_id) const override;
  Result<std::vector<StepRecord>> Steps(const std::string& task_id) const override;

 private:
  struct Entry {
    TaskRecord task;
    std::vector<SubtaskRecord> subtasks;
    std::unordered_map<std::string, std::size_t> subtask_index;  // subtask_id -> position
    std::vector<StepRecord> steps;
  };
  Entry& EntryLocked(const std::string& task_id);

  const std::size_t max_tasks_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;  // guarded by mu_
  std::deque<std::string> order_;         // guarded by mu_; insertion order for eviction
};

struct SqliteLedgerOptions {
  // How long a write waits for another connection (another process) holding the database
  // lock before it fails with the lock error.
  std::chrono::milliseconds busy_timeout{30000};
};

// Opens (creating when needed) an SQLite database at `path` with tables tasks, subtasks, steps.
// Safe to share between processes: writes wait up to busy_timeout for each other, and a write
// that still fails returns its error (never dropped silently).
Result<std::unique_ptr<Ledger>> OpenSqliteLedger(const std::string& path, SqliteLedgerOptions options = {});

}  // namespace minion::agents
