#include "minion/storage/memory_storage.h"

#include <mutex>

#include "storage/storage_span.h"

namespace minion::storage {

using internal::CheckNames;
using internal::EndStorageSpan;
using internal::StartStorageOp;

Status MemoryStorage::Put(const trace::Context& ctx, std::string_view collection,
                          std::string_view key, std::string_view value) {
  auto [child, span] = StartStorageOp(tracer_, ctx, "insert", System(), collection);
  Status status = CheckNames(collection, key);
  if (status.ok()) {
    std::unique_lock lock(mu_);
    auto coll = data_.find(collection);
    if (coll == data_.end())
      coll = data_.emplace(std::string(collection), decltype(coll->second){}).first;
    auto it = coll->second.find(key);
    if (it == coll->second.end()) {
      coll->second.emplace(std::string(key), std::string(value));
    } else {
      it->second.assign(value);
    }
  }
  EndStorageSpan(span, status);
  return status;
}

Result<std::string> MemoryStorage::Get(const trace::Context& ctx, std::string_view collection,
                                       std::string_view key) {
  auto [child, span] = StartStorageOp(tracer_, ctx, "get", System(), collection);
  Status status = CheckNames(collection, key);
  std::string value;
  if (status.ok()) {
    std::shared_lock lock(mu_);
    auto coll = data_.find(collection);
    auto it = coll == data_.end() ? decltype(coll->second.end()){} : coll->second.find(key);
    if (coll == data_.end() || it == coll->second.end()) {
      status = NotFoundError("no key \"" + std::string(key) + "\" in collection \"" +
                             std::string(collection) + "\"");
    } else {
      value = it->second;
    }
  }
  EndStorageSpan(span, status);
  if (!status.ok()) return status;
  return value;
}

Status MemoryStorage::Delete(const trace::Context& ctx, std::string_view collection,
                             std::string_view key) {
  auto [child, span] = StartStorageOp(tracer_, ctx, "delete", System(), collection);
  Status status = CheckNames(collection, key);
  if (status.ok()) {
    std::unique_lock lock(mu_);
    auto coll = data_.find(collection);
    bool erased = false;
    if (coll != data_.end()) {
      auto it = coll->second.find(key);
      if (it != coll->second.end()) {
        coll->second.erase(it);
        erased = true;
        if (coll->second.empty()) data_.erase(coll);
      }
    }
    if (!erased) {
      status = NotFoundError("no key \"" + std::string(key) + "\" in collection \"" +
                             std::string(collection) + "\"");
    }
  }
  EndStorageSpan(span, status);
  return status;
}

Result<std::vector<Entry>> MemoryStorage::List(const trace::Context& ctx,
                                               std::string_view collection,
                                               const ListOptions& options) {
  auto [child, span] = StartStorageOp(tracer_, ctx, "list", System(), collection);
  Status status = CheckNames(collection, {}, /*check_key=*/false);
  std::vector<Entry> out;
  if (status.ok()) {
    std::shared_lock lock(mu_);
    auto coll = data_.find(collection);
    if (coll != data_.end()) {
      for (auto it = coll->second.lower_bound(options.prefix); it != coll->second.end(); ++it) {
        if (it->first.compare(0, options.prefix.size(), options.prefix) != 0) break;
        if (options.limit != 0 && out.size() >= options.limit) break;
        out.push_back({it->first, it->second});
      }
    }
  }
  span.SetAttribute("db.response.returned_rows", static_cast<std::int64_t>(out.size()));
  EndStorageSpan(span, status);
  if (!status.ok()) return status;
  return out;
}

}  // namespace minion::storage
