#include "minion/storage/sqlite_storage.h"

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

// The smallest byte string greater than every string with this prefix, if there is one.
std::optional<std::string> PrefixUpperBound(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

}  // namespace

SqliteStorage::SqliteStorage(SqliteStorageOptions options) : options_(std::move(options)) {}

// Statements are finalized before the connection closes (members go in reverse order).
SqliteStorage::~SqliteStorage() = default;

Result<std::unique_ptr<SqliteStorage>> SqliteStorage::Open(SqliteStorageOptions options) {
  if (options.path.empty()) return InvalidArgumentError("sqlite storage path is empty");
  std::unique_ptr<SqliteStorage> storage(new SqliteStorage(std::move(options)));
  MINION_RETURN_IF_ERROR(storage->Init().WithContext("opening " + storage->options_.path));
  return storage;
}

Status SqliteStorage::Init() {
  sqlite::OpenOptions open;
  open.busy_timeout = options_.busy_timeout;
  MINION_ASSIGN_OR_RETURN(db_, sqlite::Database::Open(options_.path, open));
  MINION_RETURN_IF_ERROR(db_->Exec(kSchema));
  struct {
    const char* sql;
    sqlite::Statement* stmt;
  } prepared[] = {
      {kPut, &put_stmt_}, {kGet, &get_stmt_}, {kDelete, &delete_stmt_}, {kList, &list_stmt_}};
  for (auto& p : prepared) {
    MINION_ASSIGN_OR_RETURN(*p.stmt, db_->Prepare(p.sql, /*persistent=*/true));
  }
  return Status::Ok();
}

std::string SqliteStorage::JournalMode() {
  std::lock_guard<std::mutex> lock(mu_);
  auto stmt = db_->Prepare("PRAGMA journal_mode");
  if (!stmt.ok()) return "";
  auto row = stmt->Step();
  return row.ok() && *row ? stmt->ColumnText(0) : "";
}

Status SqliteStorage::Put(const trace::Context& ctx, std::string_view collection,
                          std::string_view key, std::string_view value) {
  auto [child, span] = StartStorageOp(options_.tracer, ctx, "insert", System(), collection);
  span.SetAttribute("db.query.text", kPut);
  Status status = CheckNames(collection, key);
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    put_stmt_.BindBlob(1, collection);
    put_stmt_.BindBlob(2, key);
    put_stmt_.BindBlob(3, value);
    put_stmt_.BindInt64(4, static_cast<std::int64_t>(SystemClock().Now()));
    status = put_stmt_.Run("insert");
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
    get_stmt_.BindBlob(1, collection);
    get_stmt_.BindBlob(2, key);
    Result<bool> row = get_stmt_.Step("get");
    if (!row.ok()) {
      status = row.status();
    } else if (*row) {
      value = get_stmt_.ColumnBytes(0);
      get_stmt_.Reset();
    } else {
      status = NotFoundError("no key \"" + std::string(key) + "\" in collection \"" +
                             std::string(collection) + "\"");
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
    delete_stmt_.BindBlob(1, collection);
    delete_stmt_.BindBlob(2, key);
    status = delete_stmt_.Run("delete");
    if (status.ok() && delete_stmt_.Changes() == 0) {
      status = NotFoundError("no key \"" + std::string(key) + "\" in collection \"" +
                             std::string(collection) + "\"");
    }
  }
  EndStorageSpan(span, status);
  return status;
}

Result<std::vector<Entry>> SqliteStorage::List(const trace::Context& ctx,
                                               std::string_view collection,
                                               const ListOptions& options) {
  auto [child, span] = StartStorageOp(options_.tracer, ctx, "list", System(), collection);
  span.SetAttribute("db.query.text", kList);
  Status status = CheckNames(collection, {}, /*check_key=*/false);
  std::vector<Entry> out;
  if (status.ok()) {
    std::optional<std::string> upper = PrefixUpperBound(options.prefix);
    std::lock_guard<std::mutex> lock(mu_);
    list_stmt_.BindBlob(1, collection);
    list_stmt_.BindBlob(2, options.prefix);
    if (upper) {
      list_stmt_.BindBlob(3, *upper);
    } else {
      list_stmt_.BindNull(3);
    }
    list_stmt_.BindInt64(4, options.limit == 0 ? -1 : static_cast<std::int64_t>(options.limit));
    for (;;) {
      Result<bool> row = list_stmt_.Step("list");
      if (!row.ok()) {
        status = row.status();
        out.clear();
        break;
      }
      if (!*row) break;
      out.push_back({list_stmt_.ColumnBytes(0), list_stmt_.ColumnBytes(1)});
    }
  }
  span.SetAttribute("db.response.returned_rows", static_cast<std::int64_t>(out.size()));
  EndStorageSpan(span, status);
  if (!status.ok()) return status;
  return out;
}

}  // namespace minion::storage
