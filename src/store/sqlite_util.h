#pragma once
// Minimal RAII around the SQLite C API for the trace store: a connection and prepared
// statements that reset themselves, with errors turned into Status.

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "minion/common/status.h"

namespace minion::store::internal {

class Db {
 public:
  Db() = default;
  ~Db() { Close(); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Status Open(const std::string& path, bool read_only) {
    const int flags =
        (read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) |
        SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      Status s =
          InternalError("opening " + path + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
      Close();
      return s;
    }
    sqlite3_busy_timeout(db_, 5000);
    return Status::Ok();
  }
  void Close() {
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
  }
  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "unknown error";
      sqlite3_free(err);
      return InternalError(std::string("sqlite: ") + m);
    }
    return Status::Ok();
  }
  Status Error(std::string_view what) const {
    return InternalError(std::string(what) + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

class Stmt {
 public:
  Stmt() = default;
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt(Stmt&& o) noexcept : stmt_(o.stmt_) { o.stmt_ = nullptr; }

  Status Prepare(Db& db, std::string_view sql) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    if (sqlite3_prepare_v3(db.get(), sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
      return db.Error("preparing \"" + std::string(sql.substr(0, 80)) + "\"");
    }
    return Status::Ok();
  }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  void Bind(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void BindText(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  // SQLITE_ROW -> true, SQLITE_DONE -> false; anything else is an error in `status`.
  bool Step(Status& status) {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE)
      status = InternalError(std::string("sqlite: ") + sqlite3_errmsg(sqlite3_db_handle(stmt_)));
    return false;
  }
  Status Run() {
    Status s;
    while (Step(s)) {
    }
    Reset();
    return s;
  }
  // Run() without clearing the bindings, for statements whose every parameter is bound again
  // before each run (the multi-row INSERTs on the ingest path, where clearing 192 parameters
  // per run showed in profiles).
  Status RunKeepingBindings() {
    Status s;
    while (Step(s)) {
    }
    sqlite3_reset(stmt_);
    return s;
  }
  std::int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string_view Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string_view();
  }
  std::string_view Blob(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string_view();
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace minion::store::internal
