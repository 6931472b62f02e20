#pragma once
// A small RAII wrapper over one SQLite connection, shared by every component that keeps data in
// SQLite (the agents' ledger, storage): opening with the pragmas and busy timeout we always
// want, prepared statements that reset themselves, and SQLite result codes mapped to Status.
//
//   MINION_ASSIGN_OR_RETURN(auto db, sqlite::Database::Open(path, {}));
//   MINION_RETURN_IF_ERROR(db->Exec("CREATE TABLE IF NOT EXISTS t(k TEXT, v BLOB)"));
//   MINION_ASSIGN_OR_RETURN(auto insert, db->Prepare("INSERT INTO t VALUES(?1, ?2)"));
//   insert.BindText(1, "k"); insert.BindBlob(2, bytes);
//   MINION_RETURN_IF_ERROR(insert.Run());
//
// Not thread-safe: a Database and its Statements are used under their owner's mutex (SQLite
// admits one writer at a time anyway; WAL lets other processes read meanwhile).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "minion/common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace minion::sqlite {

struct OpenOptions {
  // How long a statement waits for another connection's lock before failing with Unavailable.
  std::chrono::milliseconds busy_timeout{5000};
  // journal_mode=WAL and synchronous=NORMAL: readers do not block the writer, and a commit
  // survives a process crash (not necessarily a power cut).
  bool wal = true;
};

class Database;

// A prepared statement. Move-only; finalized on destruction. Each Step/Run cycle leaves it
// reset with bindings cleared, so it never holds a read transaction open between calls.
class Statement {
 public:
  Statement() = default;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQL ("?1"). Values are copied.
  void BindBlob(int index, std::string_view bytes);  // empty is a zero-length blob, not NULL
  void BindText(int index, std::string_view text);
  void BindInt64(int index, std::int64_t value);
  void BindNull(int index);

  // Advances: true with a row to read, false when done (the statement is then reset). An error
  // resets it too and names `what`.
  Result<bool> Step(std::string_view what = "step");
  // Steps to completion, ignoring rows.
  Status Run(std::string_view what = "step");
  // Resets and clears bindings (also done by Step at the end and by Run).
  void Reset();

  std::string ColumnBytes(int col) const;  // a BLOB or TEXT column's bytes; "" for NULL
  std::string ColumnText(int col) const;   // the same
  std::int64_t ColumnInt64(int col) const;

  // Rows changed by the last completed INSERT/UPDATE/DELETE on this statement's connection.
  int Changes() const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  // Opens (creating if needed) `path`, a file or ":memory:". Errors name the path.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, OpenOptions options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements without results.
  Status Exec(std::string_view sql);
  // Compiles `sql`. `persistent`: the statement lives as long as the connection (reused on
  // every call) rather than being prepared for one use.
  Result<Statement> Prepare(std::string_view sql, bool persistent = false);

  // The Status for SQLite result `rc`, with the connection's message, naming `what`: BUSY and
  // LOCKED and CANTOPEN are Unavailable, FULL ResourceExhausted, CORRUPT and NOTADB DataLoss,
  // READONLY/PERM/AUTH PermissionDenied, anything else Internal.
  Status Error(int rc, std::string_view what) const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace minion::sqlite
