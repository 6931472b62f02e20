#pragma once
// InMemorySpanExporter keeps copies of every exported span. A production class (useful for
// `minion run`'s trace printout and for embedding) that doubles as the test sink. Thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "minion/sdk/span_exporter.h"

namespace minion::exporters {

class InMemorySpanExporter final : public sdk::SpanExporter {
 public:
  // Shares the storage with every handle obtained from `storage()`, so a test can keep reading
  // after handing the exporter itself to a processor.
  class Storage {
   public:
    std::vector<trace::SpanData> GetSpans() const;
    std::size_t size() const;
    void Reset();

   private:
    friend class InMemorySpanExporter;
    mutable std::mutex mu_;
    std::vector<trace::SpanData> spans_;  // guarded by mu_
    std::size_t max_spans_ = 0;
    std::size_t dropped_ = 0;  // guarded by mu_
    // Stored spans point at these copies, not at the provider's resource and scopes, so they
    // stay readable after the provider is gone.
    std::map<const trace::Resource*, std::unique_ptr<trace::Resource>>
        resources_;  // guarded by mu_
    std::map<const trace::InstrumentationScope*, std::unique_ptr<trace::InstrumentationScope>>
        scopes_;  // guarded by mu_
  };

  // Keeps at most `max_spans` (0 = unbounded); older spans are kept, newer ones counted as dropped.
  explicit InMemorySpanExporter(std::size_t max_spans = 0);

  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans,
                           std::chrono::milliseconds timeout) noexcept override;
  Status Shutdown(std::chrono::milliseconds timeout) noexcept override;
  std::string Name() const override { return "memory"; }

  std::vector<trace::SpanData> GetSpans() const { return storage_->GetSpans(); }
  void Reset() { storage_->Reset(); }
  std::shared_ptr<Storage> storage() const { return storage_; }

 private:
  std::shared_ptr<Storage> storage_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace minion::exporters
