#include "minion/tools/storage_tools.h"

#include <algorithm>
#include <string>
#include <utility>

#include "minion/common/json.h"

namespace minion::tools {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxNameBytes = 256;

Status CheckName(const json& input, const char* field) {
  const auto& value = input[field].get_ref<const std::string&>();
  if (value.empty()) return InvalidArgumentError(std::string(field) + " is empty");
  if (value.size() > kMaxNameBytes) {
    return InvalidArgumentError(std::string(field) + " is longer than " +
                                std::to_string(kMaxNameBytes) + " bytes");
  }
  return Status::Ok();
}

json NameProperty(const char* what) { return {{"type", "string"}, {"description", what}}; }

class StorageTool : public Tool {
 public:
  explicit StorageTool(StorageToolOptions options) : options_(std::move(options)) {}

 protected:
  StorageToolOptions options_;
};

class InsertTool final : public StorageTool {
 public:
  using StorageTool::StorageTool;
  std::string Name() const override { return "storage_insert"; }
  std::string Description() const override {
    return "Stores a value under (collection, key), replacing any value already there.";
  }
  json InputSchema() const override {
    return {{"type", "object"},
            {"properties",
             {{"collection", NameProperty("a group of records, e.g. \"artifacts\"")},
              {"key", NameProperty("the record's key within the collection")},
              {"value", {{"description", "a string, or any JSON value (stored as JSON text)"}}}}},
            {"required", {"collection", "key", "value"}},
            {"additionalProperties", false}};
  }
  Result<json> Invoke(const trace::Context& ctx, const json& input) override {
    MINION_RETURN_IF_ERROR(CheckName(input, "collection"));
    MINION_RETURN_IF_ERROR(CheckName(input, "key"));
    const json& v = input["value"];
    const std::string value = v.is_string() ? v.get<std::string>() : DumpJson(v);
    if (value.size() > options_.max_value_bytes) {
      return InvalidArgumentError("value has " + std::to_string(value.size()) +
                                  " bytes, more than the " +
                                  std::to_string(options_.max_value_bytes) + " allowed");
    }
    const auto& collection = input["collection"].get_ref<const std::string&>();
    const auto& key = input["key"].get_ref<const std::string&>();
    MINION_RETURN_IF_ERROR(options_.storage->Put(ctx, collection, key, value));
    return json{{"collection", collection}, {"key", key}, {"bytes", value.size()}};
  }
};

class GetTool final : public StorageTool {
 public:
  using StorageTool::StorageTool;
  std::string Name() const override { return "storage_get"; }
  std::string Description() const override {
    return "Reads the value stored under (collection, key).";
  }
  json InputSchema() const override {
    return {{"type", "object"},
            {"properties",
             {{"collection", NameProperty("the collection")}, {"key", NameProperty("the key")}}},
            {"required", {"collection", "key"}},
            {"additionalProperties", false}};
  }
  Result<json> Invoke(const trace::Context& ctx, const json& input) override {
    MINION_RETURN_IF_ERROR(CheckName(input, "collection"));
    MINION_RETURN_IF_ERROR(CheckName(input, "key"));
    auto value = options_.storage->Get(ctx, input["collection"].get<std::string>(),
                                       input["key"].get<std::string>());
    // Absent is an answer the model can use, not a failure.
    if (value.status().code() == StatusCode::kNotFound) return json{{"found", false}};
    if (!value.ok()) return value.status();
    return json{{"found", true}, {"value", *value}};
  }
};

class QueryTool final : public StorageTool {
 public:
  using StorageTool::StorageTool;
  std::string Name() const override { return "storage_query"; }
  std::string Description() const override {
    return "Lists records of a collection in key order, optionally only keys with a prefix.";
  }
  json InputSchema() const override {
    return {{"type", "object"},
            {"properties",
             {{"collection", NameProperty("the collection")},
              {"prefix", {{"type", "string"}, {"description", "only keys that start with this"}}},
              {"limit", {{"type", "integer"}, {"description", "at most this many records"}}}}},
            {"required", {"collection"}},
            {"additionalProperties", false}};
  }
  Result<json> Invoke(const trace::Context& ctx, const json& input) override {
    MINION_RETURN_IF_ERROR(CheckName(input, "collection"));
    std::size_t limit = options_.max_query_results;
    if (input.contains("limit")) {
      const auto requested = input["limit"].get<std::int64_t>();
      if (requested <= 0) return InvalidArgumentError("limit must be positive");
      limit = std::min<std::size_t>(limit, static_cast<std::size_t>(requested));
    }
    storage::ListOptions list;
    list.prefix = input.value("prefix", std::string());
    list.limit = limit + 1;  // one more tells "exactly limit" from "cut at limit"
    MINION_ASSIGN_OR_RETURN(
        auto entries, options_.storage->List(ctx, input["collection"].get<std::string>(), list));
    const bool truncated = entries.size() > limit;
    if (truncated) entries.resize(limit);
    json out = json::array();
    for (auto& e : entries)
      out.push_back({{"key", std::move(e.key)}, {"value", std::move(e.value)}});
    return json{{"entries", std::move(out)}, {"truncated", truncated}};
  }
};

}  // namespace

std::shared_ptr<Tool> MakeStorageInsertTool(StorageToolOptions options) {
  return std::make_shared<InsertTool>(std::move(options));
}
std::shared_ptr<Tool> MakeStorageGetTool(StorageToolOptions options) {
  return std::make_shared<GetTool>(std::move(options));
}
std::shared_ptr<Tool> MakeStorageQueryTool(StorageToolOptions options) {
  return std::make_shared<QueryTool>(std::move(options));
}

Status RegisterStorageTools(ToolRegistry& registry, const StorageToolOptions& options) {
  if (!options.storage) return InvalidArgumentError("storage tools need a storage");
  MINION_RETURN_IF_ERROR(registry.Register(MakeStorageInsertTool(options)));
  MINION_RETURN_IF_ERROR(registry.Register(MakeStorageGetTool(options)));
  return registry.Register(MakeStorageQueryTool(options));
}

}  // namespace minion::tools
