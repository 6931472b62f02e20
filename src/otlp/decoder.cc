#include "minion/otlp/decoder.h"

#include <cstring>
#include <string>

#include "otlp/proto_message.h"

namespace minion::otlp {
namespace {

namespace common_pb = opentelemetry::proto::common::v1;
namespace trace_pb = opentelemetry::proto::trace::v1;

template <std::size_t N>
Status ParseId(const std::string& bytes, std::string_view what, trace::IdBytes<N>& out) {
  if (bytes.size() != N) {
    return InvalidArgumentError(std::string(what) + " has " + std::to_string(bytes.size()) +
                                " bytes, want " + std::to_string(N));
  }
  out = trace::IdBytes<N>(reinterpret_cast<const std::uint8_t*>(bytes.data()));
  return Status::Ok();
}

// Homogeneous arrays map onto minion's array types; anything else is reported as unusable.
bool ToAttributeValue(const common_pb::AnyValue& v, trace::AttributeValue& out) {
  switch (v.value_case()) {
    case common_pb::AnyValue::kStringValue:
      out = v.string_value();
      return true;
    case common_pb::AnyValue::kBoolValue:
      out = v.bool_value();
      return true;
    case common_pb::AnyValue::kIntValue:
      out = static_cast<std::int64_t>(v.int_value());
      return true;
    case common_pb::AnyValue::kDoubleValue:
      out = v.double_value();
      return true;
    case common_pb::AnyValue::kBytesValue:
      out = v.bytes_value();
      return true;
    case common_pb::AnyValue::kArrayValue:
      break;
    default:
      return false;
  }
  const auto& values = v.array_value().values();
  if (values.empty()) {
    out = std::vector<std::string>{};
    return true;
  }
  const auto kind = values[0].value_case();
  for (const auto& e : values) {
    if (e.value_case() != kind) return false;
  }
  switch (kind) {
    case common_pb::AnyValue::kStringValue: {
      std::vector<std::string> a;
      for (const auto& e : values) a.push_back(e.string_value());
      out = std::move(a);
      return true;
    }
    case common_pb::AnyValue::kBoolValue: {
      std::vector<bool> a;
      for (const auto& e : values) a.push_back(e.bool_value());
      out = std::move(a);
      return true;
    }
    case common_pb::AnyValue::kIntValue: {
      std::vector<std::int64_t> a;
      for (const auto& e : values) a.push_back(e.int_value());
      out = std::move(a);
      return true;
    }
    case common_pb::AnyValue::kDoubleValue: {
      std::vector<double> a;
      for (const auto& e : values) a.push_back(e.double_value());
      out = std::move(a);
      return true;
    }
    default:
      return false;
  }
}

// Returns the number of attributes that could not be represented (added to the dropped count).
std::uint32_t FillAttributes(const google::protobuf::RepeatedPtrField<common_pb::KeyValue>& kvs,
                             trace::AttributeList& out) {
  std::uint32_t unusable = 0;
  trace::AttributeValue value;
  for (const auto& kv : kvs) {
    if (!ToAttributeValue(kv.value(), value)) {
      ++unusable;
      continue;
    }
    (void)out.Set(kv.key(), trace::AttributeValueView(value));
  }
  return unusable;
}

std::shared_ptr<const trace::TraceState> ParseTraceState(const std::string& header) {
  if (header.empty()) return nullptr;
  auto ts = trace::TraceState::FromHeader(header);
  if (!ts) return nullptr;  // W3C: an invalid tracestate is dropped whole
  return std::make_shared<const trace::TraceState>(std::move(*ts));
}

bool IsRemote(std::uint32_t flags) { return (flags & 0x100u) != 0 && (flags & 0x200u) != 0; }

Status DecodeSpan(const trace_pb::Span& in, trace::SpanData& s, DecodedSpanExtras& x) {
  MINION_RETURN_IF_ERROR(ParseId(in.trace_id(), "trace_id", s.trace_id));
  MINION_RETURN_IF_ERROR(ParseId(in.span_id(), "span_id", s.span_id));
  if (!in.parent_span_id().empty()) {
    MINION_RETURN_IF_ERROR(ParseId(in.parent_span_id(), "parent_span_id", s.parent_span_id));
  }
  s.trace_state = ParseTraceState(in.trace_state());
  x.raw_flags = in.flags();
  s.flags = trace::TraceFlags(static_cast<std::uint8_t>(in.flags() & 0xFF));
  s.parent_is_remote = IsRemote(in.flags());
  s.name = in.name();
  if (in.kind() < 1 || in.kind() > 5) {
    // UNSPECIFIED (or unknown) is read as INTERNAL, the API's default.
    s.kind = trace::SpanKind::kInternal;
  } else {
    s.kind = static_cast<trace::SpanKind>(in.kind());
  }
  s.start_time = in.start_time_unix_nano();
  s.end_time = in.end_time_unix_nano();
  x.dropped_attributes =
      in.dropped_attributes_count() + FillAttributes(in.attributes(), s.attributes);
  for (const auto& e : in.events()) {
    trace::SpanEvent ev;
    ev.name = e.name();
    ev.time = e.time_unix_nano();
    x.event_dropped_attributes.push_back(e.dropped_attributes_count() +
                                         FillAttributes(e.attributes(), ev.attributes));
    s.events.push_back(std::move(ev));
  }
  s.dropped_events = in.dropped_events_count();
  for (const auto& l : in.links()) {
    trace::TraceId tid;
    trace::SpanId sid;
    MINION_RETURN_IF_ERROR(ParseId(l.trace_id(), "link trace_id", tid));
    MINION_RETURN_IF_ERROR(ParseId(l.span_id(), "link span_id", sid));
    trace::SpanLink link;
    link.context =
        trace::SpanContext(tid, sid, trace::TraceFlags(static_cast<std::uint8_t>(l.flags() & 0xFF)),
                           IsRemote(l.flags()), ParseTraceState(l.trace_state()));
    x.link_raw_flags.push_back(l.flags());
    x.link_dropped_attributes.push_back(l.dropped_attributes_count() +
                                        FillAttributes(l.attributes(), link.attributes));
    s.links.push_back(std::move(link));
  }
  s.dropped_links = in.dropped_links_count();
  if (in.has_status()) {
    const int code = in.status().code();
    s.status = (code >= 0 && code <= 2) ? static_cast<trace::SpanStatusCode>(code)
                                        : trace::SpanStatusCode::kUnset;
    s.status_description = in.status().message();
  }
  return Status::Ok();
}

}  // namespace

Result<DecodedTraceRequest> DecodeTraceRequestProto(std::string_view bytes) {
  ExportTraceServiceRequest request;
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX) ||
      !request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return InvalidArgumentError("malformed OTLP ExportTraceServiceRequest (" +
                                std::to_string(bytes.size()) + " bytes)");
  }
  DecodedTraceRequest out;
  for (const auto& rs : request.resource_spans()) {
    auto resource = std::make_unique<trace::Resource>();
    resource->schema_url = rs.schema_url();
    out.resource_dropped_attributes.push_back(
        rs.resource().dropped_attributes_count() +
        FillAttributes(rs.resource().attributes(), resource->attributes));
    out.resources.push_back(std::move(resource));
    for (const auto& ss : rs.scope_spans()) {
      auto scope = std::make_unique<trace::InstrumentationScope>();
      scope->name = ss.scope().name();
      scope->version = ss.scope().version();
      scope->schema_url = ss.schema_url();
      out.scope_dropped_attributes.push_back(
          ss.scope().dropped_attributes_count() +
          FillAttributes(ss.scope().attributes(), scope->attributes));
      out.scopes.push_back(std::move(scope));
      for (const auto& span : ss.spans()) {
        trace::SpanData s;
        DecodedSpanExtras x;
        MINION_RETURN_IF_ERROR(
            DecodeSpan(span, s, x).WithContext("span " + std::to_string(out.spans.size())));
        s.resource = out.resources.back().get();
        s.scope = out.scopes.back().get();
        out.spans.push_back(std::move(s));
        out.extras.push_back(std::move(x));
      }
    }
  }
  return out;
}

}  // namespace minion::otlp
