#include "minion/agents/ledger.h"

#include "minion/sqlite/database.h"

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
  explicit SqliteLedger(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}

  Status Init() {
    std::lock_guard lock(mu_);
    return db_->Exec(
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
    MINION_RETURN_IF_ERROR(Query("SELECT * FROM tasks ORDER BY started_at", {}, [&](const sqlite::Statement& st) {
      TaskRecord t;
      t.task_id = st.ColumnText(0); t.name = st.ColumnText(1); t.type = st.ColumnText(2);
      t.priority = static_cast<int>(st.ColumnInt64(3)); t.status = st.ColumnText(4);
      t.error = st.ColumnText(5); t.planner = st.ColumnText(6);
      t.started_at = static_cast<UnixNanos>(st.ColumnInt64(7));
      t.finished_at = static_cast<UnixNanos>(st.ColumnInt64(8));
      out.push_back(std::move(t));
    }));
    return out;
  }
  Result<std::vector<SubtaskRecord>> Subtasks(const std::string& task_id) const override {
    std::vector<SubtaskRecord> out;
    MINION_RETURN_IF_ERROR(Query("SELECT * FROM subtasks WHERE task_id=? ORDER BY started_at", {task_id},
                                 [&](const sqlite::Statement& st) {
      SubtaskRecord s;
      s.task_id = st.ColumnText(0); s.subtask_id = st.ColumnText(1); s.name = st.ColumnText(2);
      s.capability = st.ColumnText(3); s.worker_id = st.ColumnText(4); s.status = st.ColumnText(5);
      s.attempts = static_cast<int>(st.ColumnInt64(6)); s.error = st.ColumnText(7);
      s.started_at = static_cast<UnixNanos>(st.ColumnInt64(8));
      s.finished_at = static_cast<UnixNanos>(st.ColumnInt64(9));
      out.push_back(std::move(s));
    }));
    return out;
  }
  Result<std::vector<StepRecord>> Steps(const std::string& task_id) const override {
    std::vector<StepRecord> out;
    MINION_RETURN_IF_ERROR(Query("SELECT task_id, subtask_id, kind, detail, time FROM steps WHERE task_id=? ORDER BY seq",
                                 {task_id}, [&](const sqlite::Statement& st) {
      StepRecord s;
      s.task_id = st.ColumnText(0); s.subtask_id = st.ColumnText(1); s.kind = st.ColumnText(2);
      s.detail = st.ColumnText(3); s.time = static_cast<UnixNanos>(st.ColumnInt64(4));
      out.push_back(std::move(s));
    }));
    return out;
  }

 private:
  template <typename RowFn>
  Status Query(const char* sql, const std::vector<std::string>& args, RowFn&& on_row) const {
    std::lock_guard lock(mu_);
    MINION_ASSIGN_OR_RETURN(sqlite::Statement st, db_->Prepare(sql));
    for (std::size_t i = 0; i < args.size(); ++i) st.BindText(static_cast<int>(i + 1), args[i]);
    for (;;) {
      MINION_ASSIGN_OR_RETURN(bool row, st.Step("ledger"));
      if (!row) return Status::Ok();
      on_row(st);
    }
  }
  Status Run(const char* sql, const std::vector<std::string>& args) {
    return Query(sql, args, [](const sqlite::Statement&) {});
  }

  mutable std::mutex mu_;
  std::unique_ptr<sqlite::Database> db_;  // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<Ledger>> OpenSqliteLedger(const std::string& path, SqliteLedgerOptions options) {
  // Several processes may share one ledger file (`minion run --ledger` in parallel): a writer
  // that finds the database locked waits for its turn instead of failing at once, and one that
  // still cannot write returns the error (Unavailable), which fails its task (orchestrator.h).
  sqlite::OpenOptions open;
  open.busy_timeout = options.busy_timeout;
  auto db = sqlite::Database::Open(path, open);
  if (!db.ok()) return db.status().WithContext("cannot open ledger database '" + path + "'");
  auto ledger = std::make_unique<SqliteLedger>(std::move(*db));
  MINION_RETURN_IF_ERROR(ledger->Init().WithContext("initialising ledger '" + path + "'"));
  return std::unique_ptr<Ledger>(std::move(ledger));
}

}  // namespace minion::agents
