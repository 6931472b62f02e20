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
}

InMemorySpanExporter::InMemorySpanExporter(std::size_t max_spans) : storage_(std::make_shared<Storage>()) {
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
    storage_->spans_.back().pool_next_ = nullptr;
  }
  return sdk::ExportResult::kSuccess;
}

Status InMemorySpanExporter::Shutdown(std::chrono::milliseconds) noexcept {
  shut_down_.store(true);
  return Status::Ok();
}

}  // namespace minion::exporters
