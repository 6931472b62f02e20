#include "minion/store/otlp_json.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>

#include "minion/common/json.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "otlp/utf8.h"

namespace minion::store {
namespace {

using nlohmann::json;
namespace common_pb = opentelemetry::proto::common::v1;
namespace trace_pb = opentelemetry::proto::trace::v1;

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> FromBase64(std::string_view in) {
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else
      return InvalidArgumentError("bytesValue is not base64");
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFF);
    }
  }
  return out;
}

const json* Field(const json& obj, const char* camel, const char* snake) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(camel);
  if (it != obj.end() && !it->is_null()) return &*it;
  if (snake) {
    it = obj.find(snake);
    if (it != obj.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

std::string Str(const json* v) {
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

Result<std::int64_t> Int64(const json& v, std::string_view what) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_unsigned()) return static_cast<std::int64_t>(v.get<std::uint64_t>());
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18)
      return static_cast<std::int64_t>(d);
  }
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    char* end = nullptr;
    errno = 0;
    const long long x = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end == s.c_str() + s.size() && errno == 0)
      return static_cast<std::int64_t>(x);
  }
  return InvalidArgumentError(std::string(what) + " is not a 64-bit integer");
}

Result<std::uint64_t> Uint64(const json& v, std::string_view what) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0)
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d >= 0 && d == std::floor(d) && d < 1.8e19)
      return static_cast<std::uint64_t>(d);
  }
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    char* end = nullptr;
    errno = 0;
    const unsigned long long x = std::strtoull(s.c_str(), &end, 10);
    if (!s.empty() && s[0] != '-' && end == s.c_str() + s.size() && errno == 0)
      return static_cast<std::uint64_t>(x);
  }
  return InvalidArgumentError(std::string(what) + " is not an unsigned 64-bit integer");
}

Result<std::uint32_t> Uint32(const json* v, std::string_view what) {
  if (!v) return std::uint32_t{0};
  MINION_ASSIGN_OR_RETURN(auto x, Uint64(*v, what));
  if (x > std::numeric_limits<std::uint32_t>::max())
    return InvalidArgumentError(std::string(what) + " out of range");
  return static_cast<std::uint32_t>(x);
}

// An enum as its number or as its name from `names` (index = value).
Result<int> Enum(const json* v, std::initializer_list<const char*> names, std::string_view what) {
  if (!v) return 0;
  if (v->is_number_integer()) return static_cast<int>(v->get<std::int64_t>());
  if (v->is_string()) {
    const std::string s = v->get<std::string>();
    int i = 0;
    for (const char* n : names) {
      if (s == n) return i;
      ++i;
    }
  }
  return InvalidArgumentError(std::string(what) + " is not a known value");
}

Status DecodeAnyValue(const json& v, common_pb::AnyValue& out, int depth);

Status DecodeKeyValues(const json* list,
                       google::protobuf::RepeatedPtrField<common_pb::KeyValue>& out, int depth) {
  if (!list) return Status::Ok();
  if (!list->is_array()) return InvalidArgumentError("attributes must be an array");
  for (const auto& kv : *list) {
    if (!kv.is_object()) return InvalidArgumentError("an attribute must be an object {key, value}");
    auto* dst = out.Add();
    dst->set_key(Str(Field(kv, "key", nullptr)));
    if (const json* value = Field(kv, "value", nullptr))
      MINION_RETURN_IF_ERROR(DecodeAnyValue(*value, *dst->mutable_value(), depth + 1));
  }
  return Status::Ok();
}

Status DecodeAnyValue(const json& v, common_pb::AnyValue& out, int depth) {
  if (depth > kMaxAnyValueDepth) {
    return InvalidArgumentError("attribute values nest deeper than " +
                                std::to_string(kMaxAnyValueDepth) + " levels");
  }
  if (!v.is_object()) return InvalidArgumentError("an attribute value must be an object");
  if (const json* s = Field(v, "stringValue", "string_value")) {
    out.set_string_value(Str(s));
  } else if (const json* b = Field(v, "boolValue", "bool_value")) {
    if (!b->is_boolean()) return InvalidArgumentError("boolValue is not a boolean");
    out.set_bool_value(b->get<bool>());
  } else if (const json* i = Field(v, "intValue", "int_value")) {
    MINION_ASSIGN_OR_RETURN(auto x, Int64(*i, "intValue"));
    out.set_int_value(x);
  } else if (const json* d = Field(v, "doubleValue", "double_value")) {
    if (d->is_number()) {
      out.set_double_value(d->get<double>());
    } else if (d->is_string() && (*d == "NaN" || *d == "Infinity" || *d == "-Infinity")) {
      const std::string s = d->get<std::string>();
      out.set_double_value(s == "NaN" ? std::nan("") : s == "Infinity" ? INFINITY : -INFINITY);
    } else {
      return InvalidArgumentError("doubleValue is not a number");
    }
  } else if (const json* by = Field(v, "bytesValue", "bytes_value")) {
    MINION_ASSIGN_OR_RETURN(auto bytes, FromBase64(Str(by)));
    out.set_bytes_value(std::move(bytes));
  } else if (const json* a = Field(v, "arrayValue", "array_value")) {
    auto* arr = out.mutable_array_value();
    if (const json* values = Field(*a, "values", nullptr)) {
      if (!values->is_array()) return InvalidArgumentError("arrayValue.values must be an array");
      for (const auto& e : *values)
        MINION_RETURN_IF_ERROR(DecodeAnyValue(e, *arr->add_values(), depth + 1));
    }
  } else if (const json* kvl = Field(v, "kvlistValue", "kvlist_value")) {
    MINION_RETURN_IF_ERROR(DecodeKeyValues(
        Field(*kvl, "values", nullptr), *out.mutable_kvlist_value()->mutable_values(), depth + 1));
  }
  return Status::Ok();
}

Result<std::string> Id(const json* v, std::size_t bytes, std::string_view what, bool optional) {
  const std::string hex = Str(v);
  if (hex.empty() && optional) return std::string();
  return FromHex(hex, bytes, what);
}

Status DecodeSpan(const json& j, trace_pb::Span& span) {
  if (!j.is_object()) return InvalidArgumentError("a span must be an object");
  MINION_ASSIGN_OR_RETURN(auto trace_id, Id(Field(j, "traceId", "trace_id"), 16, "traceId", false));
  MINION_ASSIGN_OR_RETURN(auto span_id, Id(Field(j, "spanId", "span_id"), 8, "spanId", false));
  MINION_ASSIGN_OR_RETURN(auto parent,
                          Id(Field(j, "parentSpanId", "parent_span_id"), 8, "parentSpanId", true));
  span.set_trace_id(std::move(trace_id));
  span.set_span_id(std::move(span_id));
  span.set_parent_span_id(std::move(parent));
  span.set_trace_state(Str(Field(j, "traceState", "trace_state")));
  span.set_name(Str(Field(j, "name", nullptr)));
  MINION_ASSIGN_OR_RETURN(auto flags, Uint32(Field(j, "flags", nullptr), "flags"));
  span.set_flags(flags);
  MINION_ASSIGN_OR_RETURN(int kind,
                          Enum(Field(j, "kind", nullptr),
                               {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                                "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"},
                               "kind"));
  if (kind < 0 || kind > 5) return InvalidArgumentError("kind out of range");
  span.set_kind(static_cast<trace_pb::Span::SpanKind>(kind));
  if (const json* t = Field(j, "startTimeUnixNano", "start_time_unix_nano")) {
    MINION_ASSIGN_OR_RETURN(auto x, Uint64(*t, "startTimeUnixNano"));
    span.set_start_time_unix_nano(x);
  }
  if (const json* t = Field(j, "endTimeUnixNano", "end_time_unix_nano")) {
    MINION_ASSIGN_OR_RETURN(auto x, Uint64(*t, "endTimeUnixNano"));
    span.set_end_time_unix_nano(x);
  }
  MINION_RETURN_IF_ERROR(
      DecodeKeyValues(Field(j, "attributes", nullptr), *span.mutable_attributes(), 0));
  MINION_ASSIGN_OR_RETURN(auto dropped,
                          Uint32(Field(j, "droppedAttributesCount", "dropped_attributes_count"),
                                 "droppedAttributesCount"));
  span.set_dropped_attributes_count(dropped);
  if (const json* events = Field(j, "events", nullptr)) {
    if (!events->is_array()) return InvalidArgumentError("events must be an array");
    for (const auto& e : *events) {
      auto* ev = span.add_events();
      if (const json* t = Field(e, "timeUnixNano", "time_unix_nano")) {
        MINION_ASSIGN_OR_RETURN(auto x, Uint64(*t, "timeUnixNano"));
        ev->set_time_unix_nano(x);
      }
      ev->set_name(Str(Field(e, "name", nullptr)));
      MINION_RETURN_IF_ERROR(
          DecodeKeyValues(Field(e, "attributes", nullptr), *ev->mutable_attributes(), 0));
      MINION_ASSIGN_OR_RETURN(auto d,
                              Uint32(Field(e, "droppedAttributesCount", "dropped_attributes_count"),
                                     "droppedAttributesCount"));
      ev->set_dropped_attributes_count(d);
    }
  }
  MINION_ASSIGN_OR_RETURN(auto de, Uint32(Field(j, "droppedEventsCount", "dropped_events_count"),
                                          "droppedEventsCount"));
  span.set_dropped_events_count(de);
  if (const json* links = Field(j, "links", nullptr)) {
    if (!links->is_array()) return InvalidArgumentError("links must be an array");
    for (const auto& l : *links) {
      auto* link = span.add_links();
      MINION_ASSIGN_OR_RETURN(auto lt,
                              Id(Field(l, "traceId", "trace_id"), 16, "link traceId", false));
      MINION_ASSIGN_OR_RETURN(auto ls, Id(Field(l, "spanId", "span_id"), 8, "link spanId", false));
      link->set_trace_id(std::move(lt));
      link->set_span_id(std::move(ls));
      link->set_trace_state(Str(Field(l, "traceState", "trace_state")));
      MINION_RETURN_IF_ERROR(
          DecodeKeyValues(Field(l, "attributes", nullptr), *link->mutable_attributes(), 0));
      MINION_ASSIGN_OR_RETURN(auto d,
                              Uint32(Field(l, "droppedAttributesCount", "dropped_attributes_count"),
                                     "droppedAttributesCount"));
      link->set_dropped_attributes_count(d);
      MINION_ASSIGN_OR_RETURN(auto f, Uint32(Field(l, "flags", nullptr), "flags"));
      link->set_flags(f);
    }
  }
  MINION_ASSIGN_OR_RETURN(
      auto dl, Uint32(Field(j, "droppedLinksCount", "dropped_links_count"), "droppedLinksCount"));
  span.set_dropped_links_count(dl);
  if (const json* st = Field(j, "status", nullptr)) {
    span.mutable_status()->set_message(Str(Field(*st, "message", nullptr)));
    MINION_ASSIGN_OR_RETURN(
        int code,
        Enum(Field(*st, "code", nullptr),
             {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"}, "status code"));
    if (code < 0 || code > 2) return InvalidArgumentError("status code out of range");
    span.mutable_status()->set_code(static_cast<trace_pb::Status::StatusCode>(code));
  }
  return Status::Ok();
}

// ---- encoding ----

json EncodeAnyValue(const common_pb::AnyValue& v, int depth);

json EncodeKeyValues(const google::protobuf::RepeatedPtrField<common_pb::KeyValue>& kvs,
                     int depth) {
  json out = json::array();
  for (const auto& kv : kvs)
    out.push_back({{"key", kv.key()}, {"value", EncodeAnyValue(kv.value(), depth + 1)}});
  return out;
}

json EncodeAnyValue(const common_pb::AnyValue& v, int depth) {
  // Stored values were bounded on the way in (protobuf's own limit or ours); the cap here keeps
  // the recursion bounded whatever is in the file.
  if (depth > 100) return json::object();
  switch (v.value_case()) {
    case common_pb::AnyValue::kStringValue:
      return {{"stringValue", v.string_value()}};
    case common_pb::AnyValue::kBoolValue:
      return {{"boolValue", v.bool_value()}};
    case common_pb::AnyValue::kIntValue:
      return {{"intValue", std::to_string(v.int_value())}};
    case common_pb::AnyValue::kDoubleValue: {
      const double d = v.double_value();
      if (std::isnan(d)) return {{"doubleValue", "NaN"}};
      if (std::isinf(d)) return {{"doubleValue", d > 0 ? "Infinity" : "-Infinity"}};
      return {{"doubleValue", d}};
    }
    case common_pb::AnyValue::kBytesValue:
      return {{"bytesValue", Base64(v.bytes_value())}};
    case common_pb::AnyValue::kArrayValue: {
      json values = json::array();
      for (const auto& e : v.array_value().values()) values.push_back(EncodeAnyValue(e, depth + 1));
      return {{"arrayValue", {{"values", values}}}};
    }
    case common_pb::AnyValue::kKvlistValue:
      return {{"kvlistValue", {{"values", EncodeKeyValues(v.kvlist_value().values(), depth)}}}};
    default:
      return json::object();
  }
}

json EncodeSpan(const trace_pb::Span& s) {
  json j = {{"traceId", ToHex(s.trace_id())}, {"spanId", ToHex(s.span_id())}};
  if (!s.trace_state().empty()) j["traceState"] = s.trace_state();
  if (!s.parent_span_id().empty()) j["parentSpanId"] = ToHex(s.parent_span_id());
  if (s.flags() != 0) j["flags"] = s.flags();
  j["name"] = s.name();
  if (s.kind() != 0) j["kind"] = static_cast<int>(s.kind());
  j["startTimeUnixNano"] = std::to_string(s.start_time_unix_nano());
  j["endTimeUnixNano"] = std::to_string(s.end_time_unix_nano());
  if (s.attributes_size() > 0) j["attributes"] = EncodeKeyValues(s.attributes(), 0);
  if (s.dropped_attributes_count() != 0) j["droppedAttributesCount"] = s.dropped_attributes_count();
  if (s.events_size() > 0) {
    json events = json::array();
    for (const auto& e : s.events()) {
      json ev = {{"timeUnixNano", std::to_string(e.time_unix_nano())}, {"name", e.name()}};
      if (e.attributes_size() > 0) ev["attributes"] = EncodeKeyValues(e.attributes(), 0);
      if (e.dropped_attributes_count() != 0)
        ev["droppedAttributesCount"] = e.dropped_attributes_count();
      events.push_back(std::move(ev));
    }
    j["events"] = std::move(events);
  }
  if (s.dropped_events_count() != 0) j["droppedEventsCount"] = s.dropped_events_count();
  if (s.links_size() > 0) {
    json links = json::array();
    for (const auto& l : s.links()) {
      json lj = {{"traceId", ToHex(l.trace_id())}, {"spanId", ToHex(l.span_id())}};
      if (!l.trace_state().empty()) lj["traceState"] = l.trace_state();
      if (l.attributes_size() > 0) lj["attributes"] = EncodeKeyValues(l.attributes(), 0);
      if (l.dropped_attributes_count() != 0)
        lj["droppedAttributesCount"] = l.dropped_attributes_count();
      if (l.flags() != 0) lj["flags"] = l.flags();
      links.push_back(std::move(lj));
    }
    j["links"] = std::move(links);
  }
  if (s.dropped_links_count() != 0) j["droppedLinksCount"] = s.dropped_links_count();
  json status = json::object();
  if (!s.status().message().empty()) status["message"] = s.status().message();
  if (s.status().code() != 0) status["code"] = static_cast<int>(s.status().code());
  j["status"] = std::move(status);
  return j;
}

}  // namespace

std::string ToHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Result<std::string> FromHex(std::string_view hex, std::size_t want_bytes, std::string_view what) {
  auto bad = [&] {
    return InvalidArgumentError(std::string(what) + " must be " + std::to_string(want_bytes * 2) +
                                " hex digits, got \"" + std::string(hex.substr(0, 40)) + "\"");
  };
  if (hex.size() != want_bytes * 2) return bad();
  std::string out(want_bytes, '\0');
  for (std::size_t i = 0; i < want_bytes; ++i) {
    int v = 0;
    for (int k = 0; k < 2; ++k) {
      const char c = hex[2 * i + k];
      int d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        return bad();
      v = v * 16 + d;
    }
    out[i] = static_cast<char>(v);
  }
  return out;
}

Result<ExportRequest> DecodeOtlpJson(std::string_view text) {
  if (JsonNestsDeeperThan(text, kMaxJsonDepth)) {
    return InvalidArgumentError("JSON nests deeper than " + std::to_string(kMaxJsonDepth) +
                                " levels");
  }
  std::string repaired;
  if (!otlp::internal::IsValidUtf8(text)) {
    repaired = otlp::internal::RepairUtf8(text);
    text = repaired;
  }
  const json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return InvalidArgumentError("body is not valid JSON");
  if (!root.is_object())
    return InvalidArgumentError("body must be a JSON object with resourceSpans");
  ExportRequest request;
  const json* resource_spans = Field(root, "resourceSpans", "resource_spans");
  if (!resource_spans) return request;
  if (!resource_spans->is_array()) return InvalidArgumentError("resourceSpans must be an array");
  std::size_t index = 0;
  for (const auto& rs_json : *resource_spans) {
    auto* rs = request.add_resource_spans();
    if (!rs_json.is_object()) return InvalidArgumentError("resourceSpans[] must hold objects");
    rs->set_schema_url(Str(Field(rs_json, "schemaUrl", "schema_url")));
    if (const json* res = Field(rs_json, "resource", nullptr)) {
      MINION_RETURN_IF_ERROR(DecodeKeyValues(Field(*res, "attributes", nullptr),
                                             *rs->mutable_resource()->mutable_attributes(), 0));
      MINION_ASSIGN_OR_RETURN(
          auto d, Uint32(Field(*res, "droppedAttributesCount", "dropped_attributes_count"),
                         "droppedAttributesCount"));
      rs->mutable_resource()->set_dropped_attributes_count(d);
    }
    const json* scope_spans = Field(rs_json, "scopeSpans", "scope_spans");
    if (!scope_spans) continue;
    if (!scope_spans->is_array()) return InvalidArgumentError("scopeSpans must be an array");
    for (const auto& ss_json : *scope_spans) {
      auto* ss = rs->add_scope_spans();
      ss->set_schema_url(Str(Field(ss_json, "schemaUrl", "schema_url")));
      if (const json* scope = Field(ss_json, "scope", nullptr)) {
        ss->mutable_scope()->set_name(Str(Field(*scope, "name", nullptr)));
        ss->mutable_scope()->set_version(Str(Field(*scope, "version", nullptr)));
        MINION_RETURN_IF_ERROR(DecodeKeyValues(Field(*scope, "attributes", nullptr),
                                               *ss->mutable_scope()->mutable_attributes(), 0));
      }
      const json* spans = Field(ss_json, "spans", nullptr);
      if (!spans) continue;
      if (!spans->is_array()) return InvalidArgumentError("spans must be an array");
      for (const auto& span_json : *spans) {
        Status s = DecodeSpan(span_json, *ss->add_spans());
        if (!s.ok()) return s.WithContext("span " + std::to_string(index));
        ++index;
      }
    }
  }
  return request;
}

void AppendOtlpJson(const TracesData& data, std::string& out) {
  json resource_spans = json::array();
  for (const auto& rs : data.resource_spans()) {
    json r = json::object();
    r["resource"] = {{"attributes", EncodeKeyValues(rs.resource().attributes(), 0)}};
    if (rs.resource().dropped_attributes_count() != 0) {
      r["resource"]["droppedAttributesCount"] = rs.resource().dropped_attributes_count();
    }
    json scope_spans = json::array();
    for (const auto& ss : rs.scope_spans()) {
      json s = json::object();
      json scope = {{"name", ss.scope().name()}};
      if (!ss.scope().version().empty()) scope["version"] = ss.scope().version();
      if (ss.scope().attributes_size() > 0)
        scope["attributes"] = EncodeKeyValues(ss.scope().attributes(), 0);
      s["scope"] = std::move(scope);
      json spans = json::array();
      for (const auto& span : ss.spans()) spans.push_back(EncodeSpan(span));
      s["spans"] = std::move(spans);
      if (!ss.schema_url().empty()) s["schemaUrl"] = ss.schema_url();
      scope_spans.push_back(std::move(s));
    }
    r["scopeSpans"] = std::move(scope_spans);
    if (!rs.schema_url().empty()) r["schemaUrl"] = rs.schema_url();
    resource_spans.push_back(std::move(r));
  }
  json root = {{"resourceSpans", std::move(resource_spans)}};
  out += root.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace minion::store
