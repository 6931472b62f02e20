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
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "minion/common/clock.h"
#include "minion/common/status.h"

namespace minion::agents {

// Token and cost roll-ups as the ledger stores them (schema version 3).
struct LedgerUsage {
  std::string
      by_model{};  // EncodeUsage JSON text: [{model, provider, input_tokens, ...}] ("" = none)
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t llm_calls = 0;
  std::optional<double> cost_usd{};  // nullopt: unknown (a model without a price) or none recorded
};

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
  // What `minion runs show` and `minion resume` need (schema version 2). Appended after the
  // original fields so positional initialisers written before them keep compiling.
  std::string description{};  // (members have initialisers: -Wmissing-field-initializers)
  std::string input{};        // the request's input as JSON text ("" = none)
  std::string plan{};         // the plan as JSON text: [{name, capability, dependencies, priority,
                              // description, input}] ("" until planned)
  std::string trace_id{};     // the task span's trace id (32 hex) and span id (16 hex), for links
  std::string span_id{};
  bool truncated = false;  // input or plan was longer than kLedgerMaxTextBytes and was cut
  // Schema version 3: the task's LLM usage (usage.h) — every accepted subtask reply plus the
  // planner's own calls — and its cost; written when the task ends. planner_usage is written
  // as soon as the plan is (a resume counts it again without asking the model again).
  LedgerUsage usage{};
  std::string planner_usage{};  // EncodeUsage JSON text ("" = none)
};

// The longest text a ledger keeps in one field (outputs are model text, inputs come from
// users): longer text is cut at a UTF-8 boundary and the record marked truncated.
inline constexpr std::size_t kLedgerMaxTextBytes = 1 << 20;

// The ledger schema this build writes (SQLite `PRAGMA user_version`). Older files (version 0:
// before the version existed, schema 1's tables; version 2) are migrated on open; newer
// versions are refused.
inline constexpr int kLedgerSchemaVersion = 3;

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
  // Schema version 2 (see TaskRecord).
  int position = 0;                         // index in the plan (list order)
  std::vector<std::string> dependencies{};  // names of the subtasks it waits for
  std::string input{};                      // JSON text ("" = none)
  std::string output{};                     // JSON text of the worker's output ("" = none yet)
  bool output_truncated = false;            // output was cut to kLedgerMaxTextBytes (not JSON then)
  LedgerUsage usage{};  // schema version 3: its accepted attempts' LLM usage and cost
};

struct StepRecord {
  std::string task_id;
  std::string subtask_id;  // empty for task-level steps
  std::string kind;  // "plan", "dispatch", "result", "error", "retry", "timeout", "replan", "done"
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
  // One task; NotFound when the ledger does not hold it.
  virtual Result<TaskRecord> Task(const std::string& task_id) const;
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

// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence; true when it cut.
bool TruncateLedgerText(std::string& text, std::size_t max = kLedgerMaxTextBytes);

// Opens (creating when needed) an SQLite database at `path` with tables tasks, subtasks, steps.
// A ledger written by an older minion is migrated (columns added); one whose schema version is
// newer than kLedgerSchemaVersion is refused with FailedPrecondition naming both versions.
// Safe to share between processes: writes wait up to busy_timeout for each other, and a write
// that still fails returns its error (never dropped silently).
Result<std::unique_ptr<Ledger>> OpenSqliteLedger(const std::string& path,
                                                 SqliteLedgerOptions options = {});

}  // namespace minion::agents
