#include "minion/storage/sqlite_storage.h"

#include <sqlite3.h>

#include "minion/common/clock.h"
#include "storage/storage_span.h"

namespace minion::storage {
namespace {

using internal::CheckNames;
using internal::EndStorageSpan;
using internal::StartStorageOp;

// Keys and collections are BLOBs so ordering and prefixes are bytewise, as in MemoryStorage.
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS minion_kv ("
    " collection BLOB NOT NULL,"
    " key BLOB NOT NULL,"
    " value BLOB NOT NULL,"
    " updated_at_unix_nano INTEGER NOT NULL,"
    " PRIMARY KEY (collection, key)) WITHOUT ROWID";
constexpr const char* kPut =
    "INSERT INTO minion_kv (collection, key, value, updated_at_unix_nano) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (collection, key) DO UPDATE SET value = excluded.value,"
    " updated_at_unix_nano = excluded.updated_at_unix_nano";
constexpr const char* kGet = "SELECT value FROM minion_kv WHERE collection = ?1 AND key = ?2";
constexpr const char* kDelete = "DELETE FROM minion_kv WHERE collection = ?1 AND key = ?2";
// ?3 is NULL when the prefix has no upper bound (empty, or all 0xFF bytes).
constexpr const char* kList =
    "SELECT key, value FROM minion_kv WHERE collection = ?1 AND key >= ?2"
    " AND (?3 IS NULL OR key < ?3) ORDER BY key LIMIT ?4";

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg = "sqlite " + std::string(what) + ": " +
                    (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY: case SQLITE_LOCKED: return UnavailableError(msg);
    case SQLITE_FULL: return ResourceExhaustedError(msg);
    case SQLITE_CORRUPT: case SQLITE_NOTADB: return DataLossError(msg);
    case SQLITE_READONLY: case SQLITE_PERM: case SQLITE_AUTH:
      return Status(StatusCode::kPermissionDenied, msg);
    case SQLITE_CANTOPEN: return UnavailableError(msg);
    default: return InternalError(msg);
  }
}

// The smallest byte string greater than every string with this prefix, if there is one.
std::optional<std::string> PrefixUpperBound(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

int BindBlob(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  // A zero-length blob must still be a blob, not NULL: give sqlite a non-null pointer.
  static const char kEmpty = 0;
  return sqlite3_bind_blob64(stmt, index, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(),
                             SQLITE_TRANSIENT);
}

std::string ColumnBytes(sqlite3_stmt* stmt, int col) {
  const void* p = sqlite3_column_blob(stmt, col);
  int n = sqlite3_column_bytes(stmt, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

// Resets and clears bindings on scope exit, so a statement never holds a read transaction
// open between calls.
struct StmtReset {
  sqlite3_stmt* stmt;
  ~StmtReset() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }
};

}  // namespace

SqliteStorage::SqliteStorage(SqliteStorageOptions options) : options_(std::move(options)) {}

SqliteStorage::~SqliteStorage() {
  for (sqlite3_stmt* s : {put_stmt_, get_stmt_, delete_stmt_, list_stmt_}) sqlite3_finalize(s);
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<SqliteStorage>> SqliteStorage::Open(SqliteStorageOptions options) {
  if (options.path.empty()) return InvalidArgumentError("sqlite storage path is empty");
  std::unique_ptr<SqliteStorage> storage(new SqliteStorage(std::move(options)));
  MINION_RETURN_IF_ERROR(storage->Init().WithContext("opening " + storage->options_.path));
  return storage;
}

Status SqliteStorage::Init() {
  // NOMUTEX: our own mutex serialises every use of the connection.
  int rc = sqlite3_open_v2(options_.path.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "open");
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, static_cast<int>(options_.busy_timeout.count()));
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", kSchema}) {
    char* err = nullptr;
    rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return SqliteError(db_, rc, std::string(sql) + " (" + msg + ")");
    }
  }
  struct { const char* sql; sqlite3_stmt** stmt; } prepared[] = {
      {kPut, &put_stmt_}, {kGet, &get_stmt_}, {kDelete, &delete_stmt_}, {kList, &list_stmt_}};
  for (auto& p : prepared) {
    rc = sqlite3_prepare_v3(db_, p.sql, -1, SQLITE_PREPARE_PERSISTENT, p.stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare");
  }
  return Status::Ok();
}

std::string SqliteStorage::JournalMode() {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* stmt = nullptr;
  std::string mode;
  if (sqlite3_prepare_v2(db_, "PRAGMA journal_mode", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    mode = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return mode;
}

Status SqliteStorage::Put(const trace::Context& ctx, std::string_view collection,
                          std::string_view key, std::string_view value) {
  auto [child, span] = StartStorageOp(options_.tracer, ctx, "insert", System(), collection);
  span.SetAttribute("db.query.text", kPut);
  Status status = CheckNames(collection, key);
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    StmtReset reset{put_stmt_};
    BindBlob(put_stmt_, 1, collection);
    BindBlob(put_stmt_, 2, key);
    BindBlob(put_stmt_, 3, value);
    sqlite3_bind_int64(put_stmt_, 4, static_cast<sqlite3_int64>(SystemClock().Now()));
    int rc = sqlite3_step(put_stmt_);
    if (rc != SQLITE_DONE) status = SqliteError(db_, rc, "insert");
  }
  EndStorageSpan(span, status);
  return status;
}

Result<std::string> SqliteStorage::Get(const trace::Context& ctx, std::string_view collection,
                                       std::string_view key) {
  auto [child, span] = StartStorageOp(options_.tracer, ctx, "get", System(), collection);
  span.SetAttribute("db.query.text", kGet);
  Status status = CheckNames(collection, key);
  std::string value;
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    StmtReset reset{get_stmt_};
    BindBlob(get_stmt_, 1, collection);
    BindBlob(get_stmt_, 2, key);
    int rc = sqlite3_step(get_stmt_);
    if (rc == SQLITE_ROW) {
      value = ColumnBytes(get_stmt_, 0);
    } else if (rc == SQLITE_DONE) {
      status = NotFoundError("no key \"" + std::string(key) + "\" in collection \"" +
                             std::string(collection) + "\"");
    } else {
      status = SqliteError(db_, rc, "get");
    }
  }
  EndStorageSpan(span, status);
  if (!status.ok()) return status;
  return value;
}

Status SqliteStorage::Delete(const trace::Context& ctx, std::string_view collection,
                             std::string_view key) {
  auto [child, span] = StartStorageOp(options_.tracer, ctx, "delete", System(), collection);
  span.SetAttribute("db.query.text", kDelete);
  Status status = CheckNames(collection, key);
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    StmtReset reset{delete_stmt_};
    BindBlob(delete_stmt_, 1, collection);
    BindBlob(delete_stmt_, 2, key);
    int rc = sqlite3_step(delete_stmt_);
    if (rc != SQLITE_DONE) {
      status = SqliteError(db_, rc, "delete");
    } else if (sqlite3_changes(db_) == 0) {
      status = NotFoundError("no key \"" + std::string(key) + "\" in collection \"" +
                             std::string(collection) + "\"");
    }
  }
  EndStorageSpan(span, status);
  return status;
}

Result<std::vector<Entry>> SqliteStorage::List(const trace::Context& ctx, std::string_view collection,
                                               const ListOptions& options) {
  auto [child, span] = StartStorageOp(options_.tracer, ctx, "list", System(), collection);
  span.SetAttribute("db.query.text", kList);
  Status status = CheckNames(collection, {}, /*check_key=*/false);
  std::vector<Entry> out;
  if (status.ok()) {
    std::optional<std::string> upper = PrefixUpperBound(options.prefix);
    std::lock_guard<std::mutex> lock(mu_);
    StmtReset reset{list_stmt_};
    BindBlob(list_stmt_, 1, collection);
    BindBlob(list_stmt_, 2, options.prefix);
    if (upper) {
      BindBlob(list_stmt_, 3, *upper);
    } else {
      sqlite3_bind_null(list_stmt_, 3);
    }
    sqlite3_bind_int64(list_stmt_, 4,
                       options.limit == 0 ? -1 : static_cast<sqlite3_int64>(options.limit));
    int rc;
    while ((rc = sqlite3_step(list_stmt_)) == SQLITE_ROW) {
      out.push_back({ColumnBytes(list_stmt_, 0), ColumnBytes(list_stmt_, 1)});
    }
    if (rc != SQLITE_DONE) {
      status = SqliteError(db_, rc, "list");
      out.clear();
    }
  }
  span.SetAttribute("db.response.returned_rows", static_cast<std::int64_t>(out.size()));
  EndStorageSpan(span, status);
  if (!status.ok()) return status;
  return out;
}

}  // namespace minion::storage
