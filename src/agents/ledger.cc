#include "minion/agents/ledger.h"

#include "minion/sqlite/database.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "minion/common/json.h"

namespace minion::agents {

bool TruncateLedgerText(std::string& text, std::size_t max) {
  if (text.size() <= max) return false;
  std::size_t cut = max;
  // Back off over continuation bytes so the kept prefix ends on a whole sequence.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return true;
}

Result<TaskRecord> Ledger::Task(const std::string& task_id) const {
  MINION_ASSIGN_OR_RETURN(auto tasks, Tasks());
  for (auto& t : tasks) {
    if (t.task_id == task_id) return std::move(t);
  }
  return NotFoundError("task '" + task_id + "' is not in the ledger");
}

namespace {

TaskRecord Capped(TaskRecord t) {
  const bool a = TruncateLedgerText(t.input);
  const bool b = TruncateLedgerText(t.plan);
  const bool c = TruncateLedgerText(t.description);
  TruncateLedgerText(t.usage.by_model);
  TruncateLedgerText(t.planner_usage);
  t.truncated = t.truncated || a || b || c;
  return t;
}

SubtaskRecord Capped(SubtaskRecord s) {
  TruncateLedgerText(s.usage.by_model);  // bounded already (kMaxUsageModels); belt and braces
  TruncateLedgerText(s.input);
  TruncateLedgerText(s.error);
  if (TruncateLedgerText(s.output)) s.output_truncated = true;
  return s;
}

std::string JoinDependencies(const std::vector<std::string>& deps) {
  nlohmann::json j = deps;
  return DumpJson(j);
}

std::vector<std::string> SplitDependencies(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& d : j) {
    if (d.is_string()) out.push_back(d.get<std::string>());
  }
  return out;
}

using Arg = std::optional<std::string>;  // nullopt binds SQL NULL

Arg CostArg(const std::optional<double>& usd) {
  if (!usd) return std::nullopt;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", *usd);  // round-trips a double exactly
  return std::string(buf);
}

std::optional<double> CostColumn(const std::string& text) {
  if (text.empty()) return std::nullopt;  // NULL
  return std::strtod(text.c_str(), nullptr);
}

}  // namespace

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
  EntryLocked(task.task_id).task = Capped(task);
  return Status::Ok();
}

Status InMemoryLedger::RecordSubtask(const SubtaskRecord& original) {
  const SubtaskRecord subtask = Capped(original);
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

  // Runs before the ledger is shared, so no lock: the transaction (BEGIN IMMEDIATE takes the
  // write lock, waiting busy_timeout for it) keeps two processes opening one new file from
  // both creating the tables, and a crash mid-migration leaves the old schema intact.
  Status Init(const std::string& path) {
    MINION_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
    Status s = InitLocked(path);
    if (s.ok()) return db_->Exec("COMMIT");
    (void)db_->Exec("ROLLBACK");
    return s;
  }

  Status InitLocked(const std::string& path) {
    int version = 0;
    MINION_RETURN_IF_ERROR(Query("PRAGMA user_version", {}, [&](const sqlite::Statement& st) {
      version = static_cast<int>(st.ColumnInt64(0));
    }));
    if (version > kLedgerSchemaVersion) {
      return FailedPreconditionError(
          "ledger '" + path + "' has schema version " + std::to_string(version) +
          ", newer than this minion understands (" + std::to_string(kLedgerSchemaVersion) +
          "); use a newer minion");
    }
    if (version == kLedgerSchemaVersion) return Status::Ok();
    bool old_tables = false;
    MINION_RETURN_IF_ERROR(
        Query("SELECT name FROM sqlite_master WHERE type='table' AND name='tasks'", {},
              [&](const sqlite::Statement&) { old_tables = true; }));
    // Each step of the chain runs in turn inside Init's one transaction.
    Status s = !old_tables ? Create() : version < 2 ? Migrate1To2() : Status::Ok();
    if (s.ok() && old_tables) s = Migrate2To3();
    if (!s.ok()) {
      return s.WithContext(old_tables ? "migrating ledger '" + path + "' to schema version " +
                                            std::to_string(kLedgerSchemaVersion)
                                      : "creating ledger tables");
    }
    return db_->Exec("PRAGMA user_version = " + std::to_string(kLedgerSchemaVersion));
  }

  Status RecordTask(const TaskRecord& original) override {
    const TaskRecord t = Capped(original);
    return Run(
        "INSERT OR REPLACE INTO tasks(task_id, name, type, priority, status, error, planner, "
        "started_at,"
        " finished_at, description, input, plan, trace_id, span_id, truncated, usage, input_tokens,"
        " output_tokens, llm_calls, cost_usd, planner_usage)"
        " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        {t.task_id,
         t.name,
         t.type,
         std::to_string(t.priority),
         t.status,
         t.error,
         t.planner,
         std::to_string(t.started_at),
         std::to_string(t.finished_at),
         t.description,
         t.input,
         t.plan,
         t.trace_id,
         t.span_id,
         t.truncated ? "1" : "0",
         t.usage.by_model,
         std::to_string(t.usage.input_tokens),
         std::to_string(t.usage.output_tokens),
         std::to_string(t.usage.llm_calls),
         CostArg(t.usage.cost_usd),
         t.planner_usage});
  }
  Status RecordSubtask(const SubtaskRecord& original) override {
    const SubtaskRecord s = Capped(original);
    return Run(
        "INSERT OR REPLACE INTO subtasks(task_id, subtask_id, name, capability, worker_id, status,"
        " attempts, error, started_at, finished_at, position, dependencies, input, output,"
        " output_truncated, usage, input_tokens, output_tokens, llm_calls, cost_usd)"
        " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        {s.task_id,
         s.subtask_id,
         s.name,
         s.capability,
         s.worker_id,
         s.status,
         std::to_string(s.attempts),
         s.error,
         std::to_string(s.started_at),
         std::to_string(s.finished_at),
         std::to_string(s.position),
         JoinDependencies(s.dependencies),
         s.input,
         s.output,
         s.output_truncated ? "1" : "0",
         s.usage.by_model,
         std::to_string(s.usage.input_tokens),
         std::to_string(s.usage.output_tokens),
         std::to_string(s.usage.llm_calls),
         CostArg(s.usage.cost_usd)});
  }
  Status RecordStep(const StepRecord& s) override {
    return Run("INSERT INTO steps(task_id, subtask_id, kind, detail, time) VALUES(?,?,?,?,?)",
               {s.task_id, s.subtask_id, s.kind, s.detail, std::to_string(s.time)});
  }

  Result<std::vector<TaskRecord>> Tasks() const override { return SelectTasks("", {}); }
  Result<TaskRecord> Task(const std::string& task_id) const override {
    MINION_ASSIGN_OR_RETURN(auto tasks, SelectTasks(" WHERE task_id=?", {task_id}));
    if (tasks.empty()) return NotFoundError("task '" + task_id + "' is not in the ledger");
    return std::move(tasks.front());
  }
  Result<std::vector<SubtaskRecord>> Subtasks(const std::string& task_id) const override {
    std::vector<SubtaskRecord> out;
    MINION_RETURN_IF_ERROR(
        Query("SELECT task_id, subtask_id, name, capability, worker_id, status, attempts, error,"
              " started_at, finished_at, position, dependencies, input, output,"
              " output_truncated, usage, input_tokens, output_tokens, llm_calls, cost_usd"
              " FROM subtasks WHERE task_id=? ORDER BY position, rowid",
              {task_id}, [&](const sqlite::Statement& st) {
                SubtaskRecord s;
                s.task_id = st.ColumnText(0);
                s.subtask_id = st.ColumnText(1);
                s.name = st.ColumnText(2);
                s.capability = st.ColumnText(3);
                s.worker_id = st.ColumnText(4);
                s.status = st.ColumnText(5);
                s.attempts = static_cast<int>(st.ColumnInt64(6));
                s.error = st.ColumnText(7);
                s.started_at = static_cast<UnixNanos>(st.ColumnInt64(8));
                s.finished_at = static_cast<UnixNanos>(st.ColumnInt64(9));
                s.position = static_cast<int>(st.ColumnInt64(10));
                s.dependencies = SplitDependencies(st.ColumnText(11));
                s.input = st.ColumnText(12);
                s.output = st.ColumnText(13);
                s.output_truncated = st.ColumnInt64(14) != 0;
                s.usage.by_model = st.ColumnText(15);
                s.usage.input_tokens = st.ColumnInt64(16);
                s.usage.output_tokens = st.ColumnInt64(17);
                s.usage.llm_calls = st.ColumnInt64(18);
                s.usage.cost_usd = CostColumn(st.ColumnText(19));
                out.push_back(std::move(s));
              }));
    return out;
  }
  Result<std::vector<StepRecord>> Steps(const std::string& task_id) const override {
    std::vector<StepRecord> out;
    MINION_RETURN_IF_ERROR(Query(
        "SELECT task_id, subtask_id, kind, detail, time FROM steps WHERE task_id=? ORDER BY seq",
        {task_id}, [&](const sqlite::Statement& st) {
          StepRecord s;
          s.task_id = st.ColumnText(0);
          s.subtask_id = st.ColumnText(1);
          s.kind = st.ColumnText(2);
          s.detail = st.ColumnText(3);
          s.time = static_cast<UnixNanos>(st.ColumnInt64(4));
          out.push_back(std::move(s));
        }));
    return out;
  }

 private:
  template <typename RowFn>
  Status Query(const char* sql, const std::vector<Arg>& args, RowFn&& on_row) const {
    std::lock_guard lock(mu_);
    MINION_ASSIGN_OR_RETURN(sqlite::Statement st, db_->Prepare(sql));
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (args[i]) {
        st.BindText(static_cast<int>(i + 1), *args[i]);
      } else {
        st.BindNull(static_cast<int>(i + 1));
      }
    }
    for (;;) {
      MINION_ASSIGN_OR_RETURN(bool row, st.Step("ledger"));
      if (!row) return Status::Ok();
      on_row(st);
    }
  }
  Status Run(const char* sql, const std::vector<Arg>& args) {
    return Query(sql, args, [](const sqlite::Statement&) {});
  }

  Result<std::vector<TaskRecord>> SelectTasks(const std::string& where,
                                              const std::vector<Arg>& args) const {
    std::vector<TaskRecord> out;
    const std::string sql =
        "SELECT task_id, name, type, priority, status, error, planner, started_at, finished_at, "
        "description,"
        " input, plan, trace_id, span_id, truncated, usage, input_tokens, output_tokens, "
        "llm_calls, cost_usd,"
        " planner_usage FROM tasks" +
        where + " ORDER BY started_at, rowid";
    MINION_RETURN_IF_ERROR(Query(sql.c_str(), args, [&](const sqlite::Statement& st) {
      TaskRecord t;
      t.task_id = st.ColumnText(0);
      t.name = st.ColumnText(1);
      t.type = st.ColumnText(2);
      t.priority = static_cast<int>(st.ColumnInt64(3));
      t.status = st.ColumnText(4);
      t.error = st.ColumnText(5);
      t.planner = st.ColumnText(6);
      t.started_at = static_cast<UnixNanos>(st.ColumnInt64(7));
      t.finished_at = static_cast<UnixNanos>(st.ColumnInt64(8));
      t.description = st.ColumnText(9);
      t.input = st.ColumnText(10);
      t.plan = st.ColumnText(11);
      t.trace_id = st.ColumnText(12);
      t.span_id = st.ColumnText(13);
      t.truncated = st.ColumnInt64(14) != 0;
      t.usage.by_model = st.ColumnText(15);
      t.usage.input_tokens = st.ColumnInt64(16);
      t.usage.output_tokens = st.ColumnInt64(17);
      t.usage.llm_calls = st.ColumnInt64(18);
      t.usage.cost_usd = CostColumn(st.ColumnText(19));
      t.planner_usage = st.ColumnText(20);
      out.push_back(std::move(t));
    }));
    return out;
  }

  // The whole schema, version 3. Called inside Init's transaction.
  Status Create() {
    return db_->Exec(
        "CREATE TABLE tasks(task_id TEXT PRIMARY KEY, name TEXT, type TEXT, priority INTEGER, "
        "status TEXT,"
        " error TEXT, planner TEXT, started_at INTEGER, finished_at INTEGER, description TEXT "
        "DEFAULT '',"
        " input TEXT DEFAULT '', plan TEXT DEFAULT '', trace_id TEXT DEFAULT '', span_id TEXT "
        "DEFAULT '',"
        " truncated INTEGER DEFAULT 0, usage TEXT DEFAULT '', input_tokens INTEGER DEFAULT 0,"
        " output_tokens INTEGER DEFAULT 0, llm_calls INTEGER DEFAULT 0, cost_usd REAL,"
        " planner_usage TEXT DEFAULT '');"
        "CREATE TABLE subtasks(task_id TEXT, subtask_id TEXT, name TEXT, capability TEXT, "
        "worker_id TEXT,"
        " status TEXT, attempts INTEGER, error TEXT, started_at INTEGER, finished_at INTEGER,"
        " position INTEGER DEFAULT 0, dependencies TEXT DEFAULT '', input TEXT DEFAULT '',"
        " output TEXT DEFAULT '', output_truncated INTEGER DEFAULT 0, usage TEXT DEFAULT '',"
        " input_tokens INTEGER DEFAULT 0, output_tokens INTEGER DEFAULT 0, llm_calls INTEGER "
        "DEFAULT 0,"
        " cost_usd REAL, PRIMARY KEY(task_id, subtask_id));"
        "CREATE TABLE steps(seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT, subtask_id TEXT, "
        "kind TEXT,"
        " detail TEXT, time INTEGER);"
        "CREATE INDEX steps_task ON steps(task_id);");
  }

  // Version 0 files have schema 1's three tables: add the new columns (old rows read back
  // with empty inputs, plan and trace ids; resume refuses them for want of a plan).
  Status Migrate1To2() {
    return db_->Exec(
        "ALTER TABLE tasks ADD COLUMN description TEXT DEFAULT '';"
        "ALTER TABLE tasks ADD COLUMN input TEXT DEFAULT '';"
        "ALTER TABLE tasks ADD COLUMN plan TEXT DEFAULT '';"
        "ALTER TABLE tasks ADD COLUMN trace_id TEXT DEFAULT '';"
        "ALTER TABLE tasks ADD COLUMN span_id TEXT DEFAULT '';"
        "ALTER TABLE tasks ADD COLUMN truncated INTEGER DEFAULT 0;"
        "ALTER TABLE subtasks ADD COLUMN position INTEGER DEFAULT 0;"
        "ALTER TABLE subtasks ADD COLUMN dependencies TEXT DEFAULT '';"
        "ALTER TABLE subtasks ADD COLUMN input TEXT DEFAULT '';"
        "ALTER TABLE subtasks ADD COLUMN output TEXT DEFAULT '';"
        "ALTER TABLE subtasks ADD COLUMN output_truncated INTEGER DEFAULT 0;"
        "CREATE TABLE IF NOT EXISTS steps(seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT, "
        "subtask_id TEXT,"
        " kind TEXT, detail TEXT, time INTEGER);"
        "CREATE INDEX IF NOT EXISTS steps_task ON steps(task_id);");
  }

  // Version 2 -> 3: usage and cost columns. Rows written before read back with no usage
  // (zero tokens, cost NULL = unknown), which is what the ledger knew of them.
  Status Migrate2To3() {
    return db_->Exec(
        "ALTER TABLE tasks ADD COLUMN usage TEXT DEFAULT '';"
        "ALTER TABLE tasks ADD COLUMN input_tokens INTEGER DEFAULT 0;"
        "ALTER TABLE tasks ADD COLUMN output_tokens INTEGER DEFAULT 0;"
        "ALTER TABLE tasks ADD COLUMN llm_calls INTEGER DEFAULT 0;"
        "ALTER TABLE tasks ADD COLUMN cost_usd REAL;"
        "ALTER TABLE tasks ADD COLUMN planner_usage TEXT DEFAULT '';"
        "ALTER TABLE subtasks ADD COLUMN usage TEXT DEFAULT '';"
        "ALTER TABLE subtasks ADD COLUMN input_tokens INTEGER DEFAULT 0;"
        "ALTER TABLE subtasks ADD COLUMN output_tokens INTEGER DEFAULT 0;"
        "ALTER TABLE subtasks ADD COLUMN llm_calls INTEGER DEFAULT 0;"
        "ALTER TABLE subtasks ADD COLUMN cost_usd REAL;");
  }

  mutable std::mutex mu_;
  std::unique_ptr<sqlite::Database> db_;  // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<Ledger>> OpenSqliteLedger(const std::string& path,
                                                 SqliteLedgerOptions options) {
  // Several processes may share one ledger file (`minion run --ledger` in parallel): a writer
  // that finds the database locked waits for its turn instead of failing at once, and one that
  // still cannot write returns the error (Unavailable), which fails its task (orchestrator.h).
  sqlite::OpenOptions open;
  open.busy_timeout = options.busy_timeout;
  auto db = sqlite::Database::Open(path, open);
  if (!db.ok()) return db.status().WithContext("cannot open ledger database '" + path + "'");
  auto ledger = std::make_unique<SqliteLedger>(std::move(*db));
  MINION_RETURN_IF_ERROR(ledger->Init(path).WithContext("initialising ledger '" + path + "'"));
  return std::unique_ptr<Ledger>(std::move(ledger));
}

}  // namespace minion::agents
