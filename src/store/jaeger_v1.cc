// Jaeger's classic model, as Jaeger itself shows OTLP spans: microsecond times, the parent as a
// CHILD_OF reference and links as FOLLOWS_FROM, span kind / status / scope as tags, events as
// logs, one process per resource.
#include "store/jaeger_v1.h"

#include <map>

#include "minion/store/api_server.h"
#include "minion/store/otlp_json.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace minion::store::internal {
namespace {

using nlohmann::json;
namespace common_pb = opentelemetry::proto::common::v1;
namespace trace_pb = opentelemetry::proto::trace::v1;

json AnyValueToPlain(const common_pb::AnyValue& v, int depth);

json KvlistToPlain(const google::protobuf::RepeatedPtrField<common_pb::KeyValue>& kvs, int depth) {
  json o = json::object();
  for (const auto& kv : kvs) o[kv.key()] = AnyValueToPlain(kv.value(), depth + 1);
  return o;
}

json AnyValueToPlain(const common_pb::AnyValue& v, int depth) {
  if (depth > 100) return nullptr;
  switch (v.value_case()) {
    case common_pb::AnyValue::kStringValue:
      return v.string_value();
    case common_pb::AnyValue::kBoolValue:
      return v.bool_value();
    case common_pb::AnyValue::kIntValue:
      return v.int_value();
    case common_pb::AnyValue::kDoubleValue:
      return v.double_value();
    case common_pb::AnyValue::kBytesValue:
      return ToHex(v.bytes_value());
    case common_pb::AnyValue::kArrayValue: {
      json a = json::array();
      for (const auto& e : v.array_value().values()) a.push_back(AnyValueToPlain(e, depth + 1));
      return a;
    }
    case common_pb::AnyValue::kKvlistValue:
      return KvlistToPlain(v.kvlist_value().values(), depth);
    default:
      return nullptr;
  }
}

json Tag(const std::string& key, const common_pb::AnyValue& v) {
  switch (v.value_case()) {
    case common_pb::AnyValue::kStringValue:
      return {{"key", key}, {"type", "string"}, {"value", v.string_value()}};
    case common_pb::AnyValue::kBoolValue:
      return {{"key", key}, {"type", "bool"}, {"value", v.bool_value()}};
    case common_pb::AnyValue::kIntValue:
      return {{"key", key}, {"type", "int64"}, {"value", v.int_value()}};
    case common_pb::AnyValue::kDoubleValue:
      return {{"key", key}, {"type", "float64"}, {"value", v.double_value()}};
    case common_pb::AnyValue::kBytesValue:
      return {{"key", key}, {"type", "binary"}, {"value", ToHex(v.bytes_value())}};
    default:
      return {
          {"key", key},
          {"type", "string"},
          {"value", AnyValueToPlain(v, 0).dump(-1, ' ', false, json::error_handler_t::replace)}};
  }
}

json StringTag(const char* key, const std::string& value) {
  return {{"key", key}, {"type", "string"}, {"value", value}};
}

const char* KindName(int kind) {
  switch (kind) {
    case 2:
      return "server";
    case 3:
      return "client";
    case 4:
      return "producer";
    case 5:
      return "consumer";
    default:
      return nullptr;
  }
}

}  // namespace

json JaegerV1Trace(const TracesData& trace) {
  json spans = json::array();
  json processes = json::object();
  std::string trace_hex;
  int process_index = 0;
  for (const auto& rs : trace.resource_spans()) {
    const std::string pid = "p" + std::to_string(++process_index);
    std::string service = "unknown_service";
    json ptags = json::array();
    for (const auto& kv : rs.resource().attributes()) {
      if (kv.key() == "service.name" &&
          kv.value().value_case() == common_pb::AnyValue::kStringValue) {
        service = kv.value().string_value();
      } else {
        ptags.push_back(Tag(kv.key(), kv.value()));
      }
    }
    processes[pid] = {{"serviceName", service}, {"tags", std::move(ptags)}};
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& s : ss.spans()) {
        const std::string tid = ToHex(s.trace_id());
        if (trace_hex.empty()) trace_hex = tid;
        json refs = json::array();
        if (!s.parent_span_id().empty()) {
          refs.push_back(
              {{"refType", "CHILD_OF"}, {"traceID", tid}, {"spanID", ToHex(s.parent_span_id())}});
        }
        for (const auto& l : s.links()) {
          refs.push_back({{"refType", "FOLLOWS_FROM"},
                          {"traceID", ToHex(l.trace_id())},
                          {"spanID", ToHex(l.span_id())}});
        }
        json tags = json::array();
        for (const auto& kv : s.attributes()) tags.push_back(Tag(kv.key(), kv.value()));
        if (const char* kind = KindName(static_cast<int>(s.kind())))
          tags.push_back(StringTag("span.kind", kind));
        if (s.status().code() == trace_pb::Status::STATUS_CODE_ERROR) {
          tags.push_back(StringTag("otel.status_code", "ERROR"));
          tags.push_back({{"key", "error"}, {"type", "bool"}, {"value", true}});
        } else if (s.status().code() == trace_pb::Status::STATUS_CODE_OK) {
          tags.push_back(StringTag("otel.status_code", "OK"));
        }
        if (!s.status().message().empty())
          tags.push_back(StringTag("otel.status_description", s.status().message()));
        if (!ss.scope().name().empty())
          tags.push_back(StringTag("otel.scope.name", ss.scope().name()));
        if (!ss.scope().version().empty())
          tags.push_back(StringTag("otel.scope.version", ss.scope().version()));
        json logs = json::array();
        for (const auto& e : s.events()) {
          json fields = json::array();
          fields.push_back(StringTag("event", e.name()));
          for (const auto& kv : e.attributes()) fields.push_back(Tag(kv.key(), kv.value()));
          logs.push_back({{"timestamp", e.time_unix_nano() / 1000}, {"fields", std::move(fields)}});
        }
        const std::uint64_t start = s.start_time_unix_nano();
        const std::uint64_t end = s.end_time_unix_nano();
        spans.push_back({{"traceID", tid},
                         {"spanID", ToHex(s.span_id())},
                         {"flags", s.flags() & 0xFF},
                         {"operationName", s.name()},
                         {"references", std::move(refs)},
                         {"startTime", start / 1000},
                         {"duration", end > start ? (end - start) / 1000 : 0},
                         {"tags", std::move(tags)},
                         {"logs", std::move(logs)},
                         {"processID", pid},
                         {"warnings", nullptr}});
      }
    }
  }
  return {{"traceID", trace_hex},
          {"spans", std::move(spans)},
          {"processes", std::move(processes)},
          {"warnings", nullptr}};
}

}  // namespace minion::store::internal

namespace minion::store {

std::string JaegerV1TraceJson(const TracesData& trace) {
  return internal::JaegerV1Trace(trace).dump(-1, ' ', false,
                                             nlohmann::json::error_handler_t::replace);
}

}  // namespace minion::store
