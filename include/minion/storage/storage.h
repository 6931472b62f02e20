#pragma once
// Storage: a small keyed store for what agents keep (results, ledgers, workspace state):
// values live under (collection, key). Every call takes the caller's trace::Context first and
// opens a `storage.<op>` span (insert, get, delete, list) with db.system.name,
// db.operation.name and db.collection.name, so storage shows up under the worker that used it.
//
// Implementations are safe for concurrent use from many threads without outside locking.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "minion/common/status.h"
#include "minion/trace/context.h"

namespace minion::storage {

struct Entry {
  std::string key;
  std::string value;
  friend bool operator==(const Entry&, const Entry&) = default;
};

struct ListOptions {
  std::string prefix;     // only keys that start with this
  std::size_t limit = 0;  // 0: no limit
};

class Storage {
 public:
  virtual ~Storage() = default;
  // Creates or replaces. Collection and key must be non-empty.
  virtual Status Put(const trace::Context& ctx, std::string_view collection, std::string_view key,
                     std::string_view value) = 0;
  // NotFound when absent.
  virtual Result<std::string> Get(const trace::Context& ctx, std::string_view collection,
                                  std::string_view key) = 0;
  // NotFound when absent.
  virtual Status Delete(const trace::Context& ctx, std::string_view collection,
                        std::string_view key) = 0;
  // Entries in key order (bytewise).
  virtual Result<std::vector<Entry>> List(const trace::Context& ctx, std::string_view collection,
                                          const ListOptions& options = {}) = 0;
  // "memory", "sqlite": the db.system.name of its spans.
  virtual std::string_view System() const = 0;
};

}  // namespace minion::storage
