#include "minion/sqlite/database.h"

#include <sqlite3.h>

#include <utility>

namespace minion::sqlite {
namespace {

Status StatusFor(sqlite3* db, int rc, std::string_view what) {
  std::string msg =
      "sqlite " + std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
      return UnavailableError(msg);
    case SQLITE_FULL:
      return ResourceExhaustedError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLossError(msg);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Status(StatusCode::kPermissionDenied, msg);
    default:
      return InternalError(msg);
  }
}

}  // namespace

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::BindBlob(int index, std::string_view bytes) {
  // A zero-length blob must still be a blob, not NULL: give sqlite a non-null pointer.
  static const char kEmpty = 0;
  sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(),
                      SQLITE_TRANSIENT);
}

void Statement::BindText(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void Statement::BindInt64(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, static_cast<sqlite3_int64>(value));
}

void Statement::BindNull(int index) { sqlite3_bind_null(stmt_, index); }

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Result<bool> Statement::Step(std::string_view what) {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  Status error = rc == SQLITE_DONE ? Status::Ok() : StatusFor(db_, rc, what);
  Reset();
  if (!error.ok()) return error;
  return false;
}

Status Statement::Run(std::string_view what) {
  for (;;) {
    Result<bool> row = Step(what);
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

std::string Statement::ColumnBytes(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

std::string Statement::ColumnText(int col) const { return ColumnBytes(col); }

std::int64_t Statement::ColumnInt64(int col) const {
  return static_cast<std::int64_t>(sqlite3_column_int64(stmt_, col));
}

int Statement::Changes() const { return sqlite3_changes(db_); }

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, OpenOptions options) {
  sqlite3* db = nullptr;
  // NOMUTEX: the owner's mutex serialises every use of the connection.
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Database> database(new Database(db));  // closes db on every error path
  if (rc != SQLITE_OK) return StatusFor(db, rc, "open '" + path + "'");
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  if (options.wal) {
    MINION_RETURN_IF_ERROR(database->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"));
  }
  return database;
}

Database::~Database() { sqlite3_close_v2(db_); }

Status Database::Exec(std::string_view sql) {
  const std::string text(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return StatusFor(db_, rc, text + " (" + msg + ")");
}

Result<Statement> Database::Prepare(std::string_view sql, bool persistent) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    persistent ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return StatusFor(db_, rc, "prepare");
  }
  return Statement(db_, stmt);
}

Status Database::Error(int rc, std::string_view what) const { return StatusFor(db_, rc, what); }

}  // namespace minion::sqlite
