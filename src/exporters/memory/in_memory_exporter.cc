#include "minion/exporters/in_memory_exporter.h"

namespace minion::exporters {

std::vector<trace::SpanData> InMemorySpanExporter::Storage::GetSpans() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spans_;
}

std::size_t InMemorySpanExporter::Storage::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spans_.size();
}

void InMemorySpanExporter::Storage::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  spans_.clear();
  dropped_ = 0;
  resources_.clear();
  scopes_.clear();
}

InMemorySpanExporter::InMemorySpanExporter(std::size_t max_spans)
    : storage_(std::make_shared<Storage>()) {
  storage_->max_spans_ = max_spans;
}

sdk::ExportResult InMemorySpanExporter::Export(std::span<const trace::SpanDataPtr> spans,
                                               std::chrono::milliseconds) noexcept {
  if (shut_down_.load()) return sdk::ExportResult::kFailure;
  std::lock_guard<std::mutex> lock(storage_->mu_);
  for (const auto& s : spans) {
    if (storage_->max_spans_ != 0 && storage_->spans_.size() >= storage_->max_spans_) {
      ++storage_->dropped_;
      continue;
    }
    storage_->spans_.push_back(*s);
    trace::SpanData& copy = storage_->spans_.back();
    copy.pool_next_ = nullptr;
    copy.sink = nullptr;
    copy.limits = nullptr;
    if (copy.resource) {
      auto& owned = storage_->resources_[copy.resource];
      if (!owned) owned = std::make_unique<trace::Resource>(*copy.resource);
      copy.resource = owned.get();
    }
    if (copy.scope) {
      auto& owned = storage_->scopes_[copy.scope];
      if (!owned) owned = std::make_unique<trace::InstrumentationScope>(*copy.scope);
      copy.scope = owned.get();
    }
  }
  return sdk::ExportResult::kSuccess;
}

Status InMemorySpanExporter::Shutdown(std::chrono::milliseconds) noexcept {
  shut_down_.store(true);
  return Status::Ok();
}

}  // namespace minion::exporters
