#pragma once
// SqliteStorage: Storage in an SQLite database file (WAL journal, prepared statements reused
// across calls). One connection serialised by a mutex: SQLite admits one writer at a time
// anyway, and WAL lets other processes read meanwhile. Thread-safe.
//
//   MINION_ASSIGN_OR_RETURN(auto db, storage::SqliteStorage::Open({.path = "minion.db"}));

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "minion/observability/tracing.h"
#include "minion/sqlite/database.h"
#include "minion/storage/storage.h"

namespace minion::storage {

struct SqliteStorageOptions {
  std::string path;  // a file, or ":memory:"
  // How long a call waits for another process's lock before failing with Unavailable.
  std::chrono::milliseconds busy_timeout{5000};
  // Spans go to `tracer`, or to observability::GetTracer() at each call when null.
  std::shared_ptr<trace::Tracer> tracer;
};

class SqliteStorage final : public Storage {
 public:
  static Result<std::unique_ptr<SqliteStorage>> Open(SqliteStorageOptions options);
  ~SqliteStorage() override;
  SqliteStorage(const SqliteStorage&) = delete;
  SqliteStorage& operator=(const SqliteStorage&) = delete;

  Status Put(const trace::Context& ctx, std::string_view collection, std::string_view key,
             std::string_view value) override;
  Result<std::string> Get(const trace::Context& ctx, std::string_view collection,
                          std::string_view key) override;
  Status Delete(const trace::Context& ctx, std::string_view collection,
                std::string_view key) override;
  Result<std::vector<Entry>> List(const trace::Context& ctx, std::string_view collection,
                                  const ListOptions& options = {}) override;
  std::string_view System() const override { return "sqlite"; }

  // The journal mode SQLite reports ("wal" for files; "memory" for ":memory:").
  std::string JournalMode();

 private:
  explicit SqliteStorage(SqliteStorageOptions options);
  Status Init();

  SqliteStorageOptions options_;
  std::mutex mu_;
  std::unique_ptr<sqlite::Database> db_;  // guarded by mu_
  sqlite::Statement put_stmt_;            // guarded by mu_
  sqlite::Statement get_stmt_;            // guarded by mu_
  sqlite::Statement delete_stmt_;         // guarded by mu_
  sqlite::Statement list_stmt_;           // guarded by mu_
};

}  // namespace minion::storage
