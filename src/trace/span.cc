#include "minion/trace/span.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>

#include "minion/common/clock.h"

namespace minion::trace {
namespace {

const SpanLimits& LimitsOf(const SpanData& d) {
  static const SpanLimits kDefaults;
  return d.limits ? *d.limits : kDefaults;
}

std::string Demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                             std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(name);
}

}  // namespace

void Span::SetAttributeSlow(std::string_view key, const AttributeValueView& value) noexcept {
  const SpanLimits& limits = LimitsOf(*data_);
  data_->attributes.Set(key, value, limits.attribute_count, limits.attribute_value_length);
}

void Span::AddEvent(std::string_view name, std::initializer_list<KeyValueView> attributes,
                    UnixNanos time) noexcept {
  if (!data_) return;
  const SpanLimits& limits = LimitsOf(*data_);
  if (data_->events.size() >= limits.event_count) {
    ++data_->dropped_events;
    return;
  }
  SpanEvent& event = data_->events.emplace_back();
  event.name.assign(name);
  event.time = time != 0 ? time : (data_->sink ? data_->sink->Now() : SystemClock().Now());
  for (const auto& kv : attributes)
    event.attributes.Set(kv.key, kv.value, limits.attributes_per_event,
                         limits.attribute_value_length);
}

void Span::AddLink(const SpanContext& context,
                   std::initializer_list<KeyValueView> attributes) noexcept {
  if (!data_ || !context.IsValid()) return;
  const SpanLimits& limits = LimitsOf(*data_);
  if (data_->links.size() >= limits.link_count) {
    ++data_->dropped_links;
    return;
  }
  SpanLink& link = data_->links.emplace_back();
  link.context = context;
  for (const auto& kv : attributes)
    link.attributes.Set(kv.key, kv.value, limits.attributes_per_link,
                        limits.attribute_value_length);
}

void Span::SetStatus(SpanStatusCode code, std::string_view description) noexcept {
  if (!data_ || code == SpanStatusCode::kUnset) return;
  if (data_->status == SpanStatusCode::kOk) return;  // Ok is final
  data_->status = code;
  if (code == SpanStatusCode::kError)
    data_->status_description.assign(description);
  else
    data_->status_description.clear();
}

void Span::RecordException(std::string_view type, std::string_view message,
                           std::string_view stacktrace) noexcept {
  if (!data_) return;
  if (stacktrace.empty()) {
    AddEvent("exception", {{"exception.type", type}, {"exception.message", message}});
  } else {
    AddEvent("exception", {{"exception.type", type},
                           {"exception.message", message},
                           {"exception.stacktrace", stacktrace}});
  }
}

void Span::RecordException(const std::exception& e) noexcept {
  if (!data_) return;
  RecordException(Demangle(typeid(e).name()), e.what());
}

void Span::UpdateName(std::string_view name) noexcept {
  if (data_) data_->name.assign(name);
}

void Span::EndSlow(UnixNanos end_time) noexcept {
  SpanData* data = data_.release();
  // The sink takes ownership of the record (wrapping it back into a SpanDataPtr).
  data->sink->OnSpanEnd(data, end_time);
}

}  // namespace minion::trace
