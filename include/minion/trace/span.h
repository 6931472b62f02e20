#pragma once
// Span: a move-only handle to one span. It ends the span exactly once: on End(), or in its
// destructor if the code forgot (RAII). A handle for an unsampled span carries only its
// SpanContext, and every write on it is a single branch.
//
// Thread safety: a Span has one owner at a time; move it to hand it to another thread. Writes
// are not synchronised (that is what keeps them ~2 ns); the SDK takes over the record at End().

#include <exception>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>

#include "minion/trace/context.h"
#include "minion/trace/span_data.h"

namespace minion::trace {

class Span {
 public:
  // A non-recording span with an invalid context.
  Span() = default;
  // A non-recording span that still carries `context` (unsampled, or a remote parent).
  explicit Span(SpanContext context) : context_(std::move(context)) {}
  // A recording span; `data` must have its sink set.
  Span(SpanContext context, SpanDataPtr data)
      : context_(std::move(context)), data_(std::move(data)) {}

  Span(Span&& other) noexcept = default;
  Span& operator=(Span&& other) noexcept {
    if (this != &other) {
      End();
      context_ = std::move(other.context_);
      data_ = std::move(other.data_);
    }
    return *this;
  }
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span() { End(); }

  // True until End() for a sampled or record-only span.
  bool IsRecording() const noexcept { return data_ != nullptr; }
  const SpanContext& GetContext() const noexcept { return context_; }

  void SetAttribute(std::string_view key, const AttributeValueView& value) noexcept {
    if (data_) SetAttributeSlow(key, value);
  }
  void SetAttributes(std::initializer_list<KeyValueView> attributes) noexcept {
    if (data_)
      for (const auto& kv : attributes) SetAttributeSlow(kv.key, kv.value);
  }
  // `time` 0 means now.
  void AddEvent(std::string_view name, std::initializer_list<KeyValueView> attributes = {},
                UnixNanos time = 0) noexcept;
  void AddLink(const SpanContext& context,
               std::initializer_list<KeyValueView> attributes = {}) noexcept;

  // Per the specification: Unset is ignored, a description only accompanies Error, and once
  // Ok is set the status is final. End() never touches the status, so an Error stays an Error.
  void SetStatus(SpanStatusCode code, std::string_view description = {}) noexcept;
  SpanStatusCode status() const noexcept { return data_ ? data_->status : SpanStatusCode::kUnset; }

  // Adds the specification's `exception` event (exception.type, exception.message and, when
  // given, exception.stacktrace). Does not change the status: call SetStatus for that.
  void RecordException(std::string_view type, std::string_view message,
                       std::string_view stacktrace = {}) noexcept;
  void RecordException(const std::exception& e) noexcept;

  void UpdateName(std::string_view name) noexcept;

  // Ends the span (idempotent). `end_time` 0 means now.
  void End(UnixNanos end_time = 0) noexcept {
    if (data_) EndSlow(end_time);
  }

  // Read access to the record while recording (tests, processors); null when not recording.
  const SpanData* data() const noexcept { return data_.get(); }

 private:
  void SetAttributeSlow(std::string_view key, const AttributeValueView& value) noexcept;
  void EndSlow(UnixNanos end_time) noexcept;

  SpanContext context_;
  SpanDataPtr data_;
};

inline Context Context::WithSpan(const Span& span) const {
  return WithSpanContext(span.GetContext());
}

}  // namespace minion::trace
