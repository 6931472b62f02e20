// SimpleSpanProcessor and MultiSpanProcessor.
#include "minion/sdk/simple_span_processor.h"
#include "minion/sdk/span_processor.h"

namespace minion::sdk {

SimpleSpanProcessor::SimpleSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                                         std::chrono::milliseconds export_timeout)
    : exporter_(std::move(exporter)), export_timeout_(export_timeout) {}

void SimpleSpanProcessor::OnEnd(trace::SpanDataPtr span) noexcept {
  if (!span->flags.IsSampled()) return;  // record-only spans are not exported
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return;
  exporter_->Export(std::span<const trace::SpanDataPtr>(&span, 1), export_timeout_);
}

Status SimpleSpanProcessor::ForceFlush(std::chrono::milliseconds timeout) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return Status::Ok();
  return exporter_->ForceFlush(timeout);
}

Status SimpleSpanProcessor::Shutdown(std::chrono::milliseconds timeout) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return Status::Ok();
  shut_down_ = true;
  return exporter_->Shutdown(timeout);
}

MultiSpanProcessor::MultiSpanProcessor(std::vector<std::unique_ptr<SpanProcessor>> processors)
    : processors_(std::move(processors)) {
  for (auto& p : processors_) wants_on_start_ = wants_on_start_ || p->WantsOnStart();
}

void MultiSpanProcessor::OnStart(trace::SpanData& span, const trace::Context& parent) noexcept {
  for (auto& p : processors_)
    if (p->WantsOnStart()) p->OnStart(span, parent);
}

void MultiSpanProcessor::OnEnd(trace::SpanDataPtr span) noexcept {
  if (processors_.empty()) return;
  for (std::size_t i = 0; i + 1 < processors_.size(); ++i)
    processors_[i]->OnEnd(trace::CloneSpanData(*span));
  processors_.back()->OnEnd(std::move(span));
}

Status MultiSpanProcessor::ForceFlush(std::chrono::milliseconds timeout) noexcept {
  Status result;
  for (auto& p : processors_) {
    Status s = p->ForceFlush(timeout);
    if (!s.ok() && result.ok()) result = s;
  }
  return result;
}

Status MultiSpanProcessor::Shutdown(std::chrono::milliseconds timeout) noexcept {
  Status result;
  for (auto& p : processors_) {
    Status s = p->Shutdown(timeout);
    if (!s.ok() && result.ok()) result = s;
  }
  return result;
}

}  // namespace minion::sdk
