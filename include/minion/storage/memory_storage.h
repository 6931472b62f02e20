#pragma once
// MemoryStorage: Storage in a map, for tests and single-process runs. Readers share a lock,
// writers take it alone. Thread-safe.

#include <map>
#include <optional>
#include <shared_mutex>

#include "minion/observability/tracing.h"
#include "minion/storage/storage.h"

namespace minion::storage {

class MemoryStorage final : public Storage {
 public:
  // Spans go to `tracer`, or to observability::GetTracer() at each call when null.
  explicit MemoryStorage(std::shared_ptr<trace::Tracer> tracer = nullptr)
      : tracer_(std::move(tracer)) {}

  Status Put(const trace::Context& ctx, std::string_view collection, std::string_view key,
             std::string_view value) override;
  Result<std::string> Get(const trace::Context& ctx, std::string_view collection,
                          std::string_view key) override;
  Status Delete(const trace::Context& ctx, std::string_view collection,
                std::string_view key) override;
  Result<std::vector<Entry>> List(const trace::Context& ctx, std::string_view collection,
                                  const ListOptions& options = {}) override;
  std::string_view System() const override { return "memory"; }

 private:
  std::shared_ptr<trace::Tracer> tracer_;
  mutable std::shared_mutex mu_;
  // collection -> key -> value; std::less<> allows string_view lookups.
  std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>>
      data_;  // guarded by mu_
};

}  // namespace minion::storage
