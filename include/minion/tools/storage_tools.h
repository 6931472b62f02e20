#pragma once
// Tools over a storage::Storage (memory or SQLite), so a model can keep and find records:
//   storage_insert {collection, key, value}        -> {collection, key, bytes}
//   storage_get    {collection, key}               -> {found, value?}
//   storage_query  {collection, prefix?, limit?}   -> {entries: [{key, value}], truncated}
// A string value is stored as it is, any other JSON value as its JSON text. Each call goes
// through Storage, so it opens the seed's `storage.<op>` span (storage.insert, storage.get,
// storage.list) under the tool's span, with the database attributes. Sizes are bounded: a
// value over max_value_bytes, a name over 256 bytes, are InvalidArgument.
// The tools are thread-safe (Storage is).

#include <cstddef>
#include <memory>

#include "minion/common/status.h"
#include "minion/storage/storage.h"
#include "minion/tools/tool.h"

namespace minion::tools {

struct StorageToolOptions {
  std::shared_ptr<storage::Storage> storage;  // required
  std::size_t max_value_bytes = 1u << 20;
  std::size_t max_query_results = 100;  // storage_query returns at most this many entries
};

std::shared_ptr<Tool> MakeStorageInsertTool(StorageToolOptions options);
std::shared_ptr<Tool> MakeStorageGetTool(StorageToolOptions options);
std::shared_ptr<Tool> MakeStorageQueryTool(StorageToolOptions options);

// Registers the three; InvalidArgument when options.storage is null.
Status RegisterStorageTools(ToolRegistry& registry, const StorageToolOptions& options);

}  // namespace minion::tools
