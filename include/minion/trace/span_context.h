#pragma once
// SpanContext: the part of a span that crosses process boundaries (W3C traceparent +
// tracestate). A value type; copying it copies two ids and one shared pointer.

#include <cstdint>
#include <memory>

#include "minion/trace/ids.h"
#include "minion/trace/trace_state.h"

namespace minion::trace {

class TraceFlags {
 public:
  static constexpr std::uint8_t kSampled = 0x01;
  // W3C Trace Context level 2 "random" flag: the trace id's right-most 7 bytes are random.
  static constexpr std::uint8_t kRandom = 0x02;

  constexpr TraceFlags() = default;
  constexpr explicit TraceFlags(std::uint8_t flags) : flags_(flags) {}
  constexpr bool IsSampled() const { return (flags_ & kSampled) != 0; }
  constexpr std::uint8_t value() const { return flags_; }
  friend constexpr bool operator==(TraceFlags a, TraceFlags b) { return a.flags_ == b.flags_; }

 private:
  std::uint8_t flags_ = 0;
};

class SpanContext {
 public:
  SpanContext() = default;
  SpanContext(TraceId trace_id, SpanId span_id, TraceFlags flags, bool is_remote,
              std::shared_ptr<const TraceState> trace_state = nullptr)
      : trace_id_(trace_id),
        span_id_(span_id),
        flags_(flags),
        is_remote_(is_remote),
        trace_state_(std::move(trace_state)) {}

  static const SpanContext& Invalid();

  // Valid when both ids are non-zero (W3C).
  bool IsValid() const noexcept { return trace_id_.IsValid() && span_id_.IsValid(); }
  bool IsSampled() const noexcept { return flags_.IsSampled(); }
  bool IsRemote() const noexcept { return is_remote_; }
  const TraceId& trace_id() const noexcept { return trace_id_; }
  const SpanId& span_id() const noexcept { return span_id_; }
  TraceFlags trace_flags() const noexcept { return flags_; }
  // Never null: an empty TraceState when none was set.
  const TraceState& trace_state() const noexcept;
  const std::shared_ptr<const TraceState>& trace_state_ptr() const noexcept { return trace_state_; }

  friend bool operator==(const SpanContext& a, const SpanContext& b) noexcept {
    return a.trace_id_ == b.trace_id_ && a.span_id_ == b.span_id_ && a.flags_ == b.flags_;
  }

 private:
  TraceId trace_id_;
  SpanId span_id_;
  TraceFlags flags_;
  bool is_remote_ = false;
  std::shared_ptr<const TraceState> trace_state_;
};

}  // namespace minion::trace
