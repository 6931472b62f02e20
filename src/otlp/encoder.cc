#include "minion/otlp/encoder.h"

#include <string_view>
#include <variant>

#include "otlp/grouping.h"
#include "otlp/proto_message.h"
#include "otlp/proto_writer.h"
#include "otlp/utf8.h"

namespace minion::otlp {
namespace {

namespace common_pb = opentelemetry::proto::common::v1;
namespace trace_pb = opentelemetry::proto::trace::v1;

std::string Text(std::string_view s) {
  return internal::IsValidUtf8(s) ? std::string(s) : internal::RepairUtf8(s);
}

void FillAnyValue(const trace::AttributeValue& v, common_pb::AnyValue& out) {
  std::visit(
      [&out](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          out.set_bool_value(x);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out.set_int_value(x);
        } else if constexpr (std::is_same_v<T, double>) {
          out.set_double_value(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          out.set_string_value(Text(x));
        } else {
          auto* values = out.mutable_array_value()->mutable_values();
          for (const auto& e : x) {
            common_pb::AnyValue* item = values->Add();
            if constexpr (std::is_same_v<T, std::vector<bool>>) {
              item->set_bool_value(e);
            } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
              item->set_int_value(e);
            } else if constexpr (std::is_same_v<T, std::vector<double>>) {
              item->set_double_value(e);
            } else {
              item->set_string_value(Text(e));
            }
          }
        }
      },
      v);
}

void FillAttributes(const trace::AttributeList& attrs,
                    google::protobuf::RepeatedPtrField<common_pb::KeyValue>& out) {
  out.Reserve(static_cast<int>(attrs.size()));
  for (const auto& a : attrs) {
    common_pb::KeyValue* kv = out.Add();
    kv->set_key(Text(a.key));
    FillAnyValue(a.value, *kv->mutable_value());
  }
}

std::string TraceStateHeader(const std::shared_ptr<const trace::TraceState>& ts) {
  return (ts && !ts->empty()) ? ts->ToHeader() : std::string();
}

void FillSpan(const trace::SpanData& s, trace_pb::Span& out) {
  out.set_trace_id(s.trace_id.data(), 16);
  out.set_span_id(s.span_id.data(), 8);
  out.set_trace_state(Text(TraceStateHeader(s.trace_state)));
  if (s.parent_span_id.IsValid()) out.set_parent_span_id(s.parent_span_id.data(), 8);
  out.set_flags(SpanFlagsFor(s.flags, s.parent_is_remote));
  out.set_name(Text(s.name));
  out.set_kind(static_cast<trace_pb::Span::SpanKind>(s.kind));
  out.set_start_time_unix_nano(s.start_time);
  out.set_end_time_unix_nano(s.end_time);
  FillAttributes(s.attributes, *out.mutable_attributes());
  out.set_dropped_attributes_count(s.attributes.dropped());
  for (const auto& e : s.events) {
    trace_pb::Span::Event* ev = out.add_events();
    ev->set_time_unix_nano(e.time);
    ev->set_name(Text(e.name));
    FillAttributes(e.attributes, *ev->mutable_attributes());
    ev->set_dropped_attributes_count(e.attributes.dropped());
  }
  out.set_dropped_events_count(s.dropped_events);
  for (const auto& l : s.links) {
    trace_pb::Span::Link* link = out.add_links();
    link->set_trace_id(l.context.trace_id().data(), 16);
    link->set_span_id(l.context.span_id().data(), 8);
    link->set_trace_state(Text(TraceStateHeader(l.context.trace_state_ptr())));
    FillAttributes(l.attributes, *link->mutable_attributes());
    link->set_dropped_attributes_count(l.attributes.dropped());
    link->set_flags(SpanFlagsFor(l.context.trace_flags(), l.context.IsRemote()));
  }
  out.set_dropped_links_count(s.dropped_links);
  if (s.status != trace::SpanStatusCode::kUnset || !s.status_description.empty()) {
    out.mutable_status()->set_code(static_cast<trace_pb::Status::StatusCode>(s.status));
    out.mutable_status()->set_message(Text(s.status_description));
  }
}

}  // namespace

void BuildTraceRequest(std::span<const trace::SpanDataPtr> spans, ExportTraceServiceRequest& out) {
  out.Clear();
  static const trace::Resource kEmptyResource;
  static const trace::InstrumentationScope kEmptyScope;
  for (const auto& rg : internal::GroupSpans(spans)) {
    const trace::Resource& resource = rg.resource ? *rg.resource : kEmptyResource;
    trace_pb::ResourceSpans* rs = out.add_resource_spans();
    FillAttributes(resource.attributes, *rs->mutable_resource()->mutable_attributes());
    rs->mutable_resource()->set_dropped_attributes_count(resource.attributes.dropped());
    rs->set_schema_url(Text(resource.schema_url));
    for (const auto& sg : rg.scopes) {
      const trace::InstrumentationScope& scope = sg.scope ? *sg.scope : kEmptyScope;
      trace_pb::ScopeSpans* ss = rs->add_scope_spans();
      common_pb::InstrumentationScope* sc = ss->mutable_scope();
      sc->set_name(Text(scope.name));
      sc->set_version(Text(scope.version));
      FillAttributes(scope.attributes, *sc->mutable_attributes());
      sc->set_dropped_attributes_count(scope.attributes.dropped());
      ss->set_schema_url(Text(scope.schema_url));
      ss->mutable_spans()->Reserve(static_cast<int>(sg.spans.size()));
      for (const trace::SpanData* span : sg.spans) FillSpan(*span, *ss->add_spans());
    }
  }
}

Status AppendTraceRequestProto(std::span<const trace::SpanDataPtr> spans, std::string& out) {
  return internal::WriteTraceRequest(internal::GroupSpans(spans), out);
}

Result<std::string> SerializeTraceRequestProto(std::span<const trace::SpanDataPtr> spans) {
  std::string out;
  MINION_RETURN_IF_ERROR(AppendTraceRequestProto(spans, out));
  return out;
}

}  // namespace minion::otlp
