#include "minion/agents/ledger.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>

namespace minion::agents {

InMemoryLedger::Entry& InMemoryLedger::EntryLocked(const std::string& task_id) {
  auto [it, inserted] = entries_.try_emplace(task_id);
  if (inserted) {
    order_.push_back(task_id);
    while (max_tasks_ && order_.size() > max_tasks_) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
  }
  return it->second;
}

Status InMemoryLedger::RecordTask(const TaskRecord& task) {
  std::lock_guard lock(mu_);
  EntryLocked(task.task_id).task = task;
  return Status::Ok();
}

Status InMemoryLedger::RecordSubtask(const SubtaskRecord& subtask) {
  std::lock_guard lock(mu_);
  auto& entry = EntryLocked(subtask.task_id);
  // Indexed: a plan of 10,000 subtasks writes each several times.
  auto [it, inserted] = entry.subtask_index.try_emplace(subtask.subtask_id, entry.subtasks.size());
  if (inserted) {
    entry.subtasks.push_back(subtask);
  } else {
    entry.subtasks[it->second] = subtask;
  }
  return Status::Ok();
}

Status InMemoryLedger::RecordStep(const StepRecord& step) {
  std::lock_guard lock(mu_);
  EntryLocked(step.task_id).steps.push_back(step);
  return Status::Ok();
}

Result<std::vector<TaskRecord>> InMemoryLedger::Tasks() const {
  std::lock_guard lock(mu_);
  std::vector<TaskRecord> out;
  for (const auto& id : order_) out.push_back(entries_.at(id).task);
  return out;
}

Result<std::vector<SubtaskRecord>> InMemoryLedger::Subtasks(const std::string& task_id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(task_id);
  if (it == entries_.end()) return NotFoundError("task '" + task_id + "' is not in the ledger");
  return it->second.subtasks;
}

Result<std::vector<StepRecord>> InMemoryLedger::Steps(const std::string& task_id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(task_id);
  if (it == entries_.end()) return NotFoundError("task '" + task_id + "' is not in the ledger");
  return it->second.steps;
}

namespace {

// One connection guarded by a mutex: ledger writes are a few per subtask, far from contended.
class SqliteLedger final : public Ledger {
 public:
  explicit SqliteLedger(sqlite3* db) : db_(db) {}
  ~SqliteLedger() override { sqlite3_close(db_); }

  Status Init() {
    return Exec(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        "CREATE TABLE IF NOT EXISTS tasks(task_id TEXT PRIMARY KEY, name TEXT, type TEXT,"
        " priority INTEGER, status TEXT, error TEXT, planner TEXT, started_at INTEGER,"
        " finished_at INTEGER);"
        "CREATE TABLE IF NOT EXISTS subtasks(task_id TEXT, subtask_id TEXT, name TEXT,"
        " capability TEXT, worker_id TEXT, status TEXT, attempts INTEGER, error TEXT,"
        " started_at INTEGER, finished_at INTEGER, PRIMARY KEY(task_id, subtask_id));"
        "CREATE TABLE IF NOT EXISTS steps(seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT,"
        " subtask_id TEXT, kind TEXT, detail TEXT, time INTEGER);"
        "CREATE INDEX IF NOT EXISTS steps_task ON steps(task_id);");
  }

  Status RecordTask(const TaskRecord& t) override {
    return Run("INSERT OR REPLACE INTO tasks VALUES(?,?,?,?,?,?,?,?,?)",
               {t.task_id, t.name, t.type, std::to_string(t.priority), t.status, t.error, t.planner,
                std::to_string(t.started_at), std::to_string(t.finished_at)});
  }
  Status RecordSubtask(const SubtaskRecord& s) override {
    return Run("INSERT OR REPLACE INTO subtasks VALUES(?,?,?,?,?,?,?,?,?,?)",
               {s.task_id, s.subtask_id, s.name, s.capability, s.worker_id, s.status,
                std::to_string(s.attempts), s.error, std::to_string(s.started_at),
                std::to_string(s.finished_at)});
  }
  Status RecordStep(const StepRecord& s) override {
    return Run("INSERT INTO steps(task_id, subtask_id, kind, detail, time) VALUES(?,?,?,?,?)",
               {s.task_id, s.subtask_id, s.kind, s.detail, std::to_string(s.time)});
  }

  Result<std::vector<TaskRecord>> Tasks() const override {
    std::vector<TaskRecord> out;
    MINION_RETURN_IF_ERROR(Query("SELECT * FROM tasks ORDER BY started_at", {}, [&](sqlite3_stmt* st) {
      TaskRecord t;
      t.task_id = Text(st, 0); t.name = Text(st, 1); t.type = Text(st, 2);
      t.priority = sqlite3_column_int(st, 3); t.status = Text(st, 4); t.error = Text(st, 5);
      t.planner = Text(st, 6);
      t.started_at = static_cast<UnixNanos>(sqlite3_column_int64(st, 7));
      t.finished_at = static_cast<UnixNanos>(sqlite3_column_int64(st, 8));
      out.push_back(std::move(t));
    }));
    return out;
  }
  Result<std::vector<SubtaskRecord>> Subtasks(const std::string& task_id) const override {
    std::vector<SubtaskRecord> out;
    MINION_RETURN_IF_ERROR(Query("SELECT * FROM subtasks WHERE task_id=? ORDER BY started_at", {task_id},
                                 [&](sqlite3_stmt* st) {
      SubtaskRecord s;
      s.task_id = Text(st, 0); s.subtask_id = Text(st, 1); s.name = Text(st, 2);
      s.capability = Text(st, 3); s.worker_id = Text(st, 4); s.status = Text(st, 5);
      s.attempts = sqlite3_column_int(st, 6); s.error = Text(st, 7);
      s.started_at = static_cast<UnixNanos>(sqlite3_column_int64(st, 8));
      s.finished_at = static_cast<UnixNanos>(sqlite3_column_int64(st, 9));
      out.push_back(std::move(s));
    }));
    return out;
  }
  Result<std::vector<StepRecord>> Steps(const std::string& task_id) const override {
    std::vector<StepRecord> out;
    MINION_RETURN_IF_ERROR(Query("SELECT task_id, subtask_id, kind, detail, time FROM steps WHERE task_id=? ORDER BY seq",
                                 {task_id}, [&](sqlite3_stmt* st) {
      StepRecord s;
      s.task_id = Text(st, 0); s.subtask_id = Text(st, 1); s.kind = Text(st, 2);
      s.detail = Text(st, 3); s.time = static_cast<UnixNanos>(sqlite3_column_int64(st, 4));
      out.push_back(std::move(s));
    }));
    return out;
  }

 private:
  static std::string Text(sqlite3_stmt* st, int col) {
    auto* p = sqlite3_column_text(st, col);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  Status Error(const char* what, int rc) const {
    std::string message = std::string("sqlite ledger: ") + what + ": " + sqlite3_errmsg(db_);
    // Locked by another process for longer than the busy timeout: worth retrying later.
    const int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return UnavailableError(std::move(message));
    return InternalError(std::move(message));
  }
  Status Exec(const char* sql) {
    std::lock_guard lock(mu_);
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return InternalError("sqlite ledger: " + msg);
    }
    return Status::Ok();
  }
  template <typename RowFn>
  Status Query(const char* sql, const std::vector<std::string>& args, RowFn&& on_row) const {
    std::lock_guard lock(mu_);
    sqlite3_stmt* st = nullptr;
    if (int rc = sqlite3_prepare_v2(db_, sql, -1, &st, nullptr); rc != SQLITE_OK) return Error("prepare", rc);
    for (std::size_t i = 0; i < args.size(); ++i) {
      sqlite3_bind_text(st, static_cast<int>(i + 1), args[i].c_str(), -1, SQLITE_TRANSIENT);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) on_row(st);
    Status status = rc == SQLITE_DONE ? Status::Ok() : Error("step", rc);
    sqlite3_finalize(st);
    return status;
  }
  Status Run(const char* sql, const std::vector<std::string>& args) {
    return Query(sql, args, [](sqlite3_stmt*) {});
  }

  mutable std::mutex mu_;
  sqlite3* db_;  // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<Ledger>> OpenSqliteLedger(const std::string& path, SqliteLedgerOptions options) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return UnavailableError("cannot open ledger database '" + path + "': " + msg);
  }
  // Several processes may share one ledger file (`minion run --ledger` in parallel): a writer
  // that finds the database locked waits for its turn instead of failing at once, and one that
  // still cannot write returns the error, which fails its task (orchestrator.h).
  sqlite3_busy_timeout(db, static_cast<int>(std::min<std::int64_t>(options.busy_timeout.count(), INT32_MAX)));
  auto ledger = std::make_unique<SqliteLedger>(db);
  MINION_RETURN_IF_ERROR(ledger->Init().WithContext("initialising ledger '" + path + "'"));
  return std::unique_ptr<Ledger>(std::move(ledger));
}

}  // namespace minion::agents
