// The OTLP encoder against libprotobuf: the direct writer's bytes must equal libprotobuf's
// serialization of the generated message, libprotobuf must parse them back to every field we
// set, and the OTLP/JSON output must parse with libprotobuf's own JSON parser into the same
// message once ids are mapped from hex (OTLP) to base64 (protobuf's default).

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "minion/otlp/decoder.h"
#include "minion/otlp/encoder.h"
#include "otlp/proto_message.h"
#include "otlp/span_fixtures.h"

namespace minion::otlp {
namespace {

namespace common_pb = opentelemetry::proto::common::v1;
namespace trace_pb = opentelemetry::proto::trace::v1;
using testing::Fixture;

std::string Bytes(std::string_view hex) {
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  }
  return out;
}

std::vector<trace::SpanDataPtr> Batch(const Fixture& f) {
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.RichSpan());
  spans.push_back(f.RootSpan());
  spans.push_back(f.SeedSpan(7));
  return spans;
}

ExportTraceServiceRequest Parse(const std::string& bytes) {
  ExportTraceServiceRequest req;
  EXPECT_TRUE(req.ParseFromString(bytes));
  return req;
}

const common_pb::AnyValue* Find(const google::protobuf::RepeatedPtrField<common_pb::KeyValue>& kvs,
                                std::string_view key) {
  for (const auto& kv : kvs) {
    if (kv.key() == key) return &kv.value();
  }
  return nullptr;
}

TEST(OtlpEncoderTest, DirectWriterMatchesLibprotobufByteForByte) {
  Fixture f;
  auto spans = Batch(f);
  ExportTraceServiceRequest built;
  BuildTraceRequest(spans, built);
  std::string expected;
  ASSERT_TRUE(built.SerializeToString(&expected));
  auto direct = SerializeTraceRequestProto(spans);
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  EXPECT_EQ(*direct, expected);
  EXPECT_GT(expected.size(), 500u);
}

// Multi-byte length prefixes at every nesting level (strings past 127 and 16383 bytes, many
// attributes, large counts) are where a size pass and a write pass could disagree.
TEST(OtlpEncoderTest, LargeValuesMatchLibprotobuf) {
  Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  for (int n = 0; n < 3; ++n) {
    auto s = f.RichSpan();
    s->name = std::string(static_cast<std::size_t>(100 + n * 9000), 'n');
    s->attributes.Set("long", std::string(20000, 'x'));
    for (int i = 0; i < 300; ++i)
      s->attributes.Set("k" + std::to_string(i), std::int64_t{-1} << (i % 63));
    s->attributes.Set("many", std::vector<std::string>(500, std::string(130, 's')));
    s->dropped_events = 1u << 31;
    s->dropped_links = 300;
    s->status_description = std::string(200, 'e');
    spans.push_back(std::move(s));
  }
  ExportTraceServiceRequest built;
  BuildTraceRequest(spans, built);
  const std::string expected = built.SerializeAsString();
  EXPECT_GT(expected.size(), 100000u);
  EXPECT_EQ(*SerializeTraceRequestProto(spans), expected);
}

TEST(OtlpEncoderTest, AppendKeepsExistingBytes) {
  Fixture f;
  auto spans = Batch(f);
  std::string out = "prefix";
  ASSERT_TRUE(AppendTraceRequestProto(spans, out).ok());
  EXPECT_EQ(out.substr(0, 6), "prefix");
  EXPECT_EQ(out.substr(6), *SerializeTraceRequestProto(spans));
}

TEST(OtlpEncoderTest, GroupsByResourceThenScopeInFirstSeenOrder) {
  Fixture f;
  trace::Resource other_resource;
  other_resource.attributes.Set("service.name", "second");
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.SeedSpan(1));  // resource, scope
  spans.push_back(f.RootSpan());   // resource, other_scope
  spans.push_back(f.SeedSpan(2));  // resource, scope
  spans.push_back(f.SeedSpan(3));
  spans.back()->resource = &other_resource;  // other resource, scope
  spans.push_back(nullptr);                  // ignored
  const auto req = Parse(*SerializeTraceRequestProto(spans));
  ASSERT_EQ(req.resource_spans_size(), 2);
  const auto& rs0 = req.resource_spans(0);
  EXPECT_EQ(Find(rs0.resource().attributes(), "service.name")->string_value(), "otlp-test");
  EXPECT_EQ(rs0.schema_url(), "https://opentelemetry.io/schemas/1.24.0");
  ASSERT_EQ(rs0.scope_spans_size(), 2);
  EXPECT_EQ(rs0.scope_spans(0).scope().name(), "minion.test");
  EXPECT_EQ(rs0.scope_spans(0).spans_size(), 2);
  EXPECT_EQ(rs0.scope_spans(1).scope().name(), "minion.other");
  EXPECT_EQ(rs0.scope_spans(1).spans_size(), 1);
  const auto& rs1 = req.resource_spans(1);
  EXPECT_EQ(Find(rs1.resource().attributes(), "service.name")->string_value(), "second");
  ASSERT_EQ(rs1.scope_spans_size(), 1);
  EXPECT_EQ(rs1.scope_spans(0).spans_size(), 1);
}

TEST(OtlpEncoderTest, EveryFieldReachesTheWire) {
  Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.RichSpan());
  const auto req = Parse(*SerializeTraceRequestProto(spans));
  ASSERT_EQ(req.resource_spans_size(), 1);
  const auto& rs = req.resource_spans(0);
  EXPECT_EQ(Find(rs.resource().attributes(), "service.instance.id")->int_value(), 42);
  const auto& ss = rs.scope_spans(0);
  EXPECT_EQ(ss.scope().name(), "minion.test");
  EXPECT_EQ(ss.scope().version(), "1.2.3");
  EXPECT_TRUE(Find(ss.scope().attributes(), "scope.attr")->bool_value());
  EXPECT_EQ(ss.schema_url(), "https://opentelemetry.io/schemas/1.21.0");
  ASSERT_EQ(ss.spans_size(), 1);
  const trace_pb::Span& s = ss.spans(0);
  EXPECT_EQ(s.trace_id(), Bytes("0af7651916cd43dd8448eb211c80319c"));
  EXPECT_EQ(s.span_id(), Bytes("b7ad6b7169203331"));
  EXPECT_EQ(s.parent_span_id(), Bytes("00f067aa0ba902b7"));
  EXPECT_EQ(s.trace_state(), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  // W3C flags 0x03 (sampled, random) + HAS_IS_REMOTE + IS_REMOTE (the parent was remote).
  EXPECT_EQ(s.flags(), 0x303u);
  EXPECT_EQ(s.name(), "worker.summarize");
  EXPECT_EQ(s.kind(), trace_pb::Span::SPAN_KIND_CLIENT);
  EXPECT_EQ(s.start_time_unix_nano(), 1'700'000'000'123'456'789ULL);
  EXPECT_EQ(s.end_time_unix_nano(), 1'700'000'001'987'654'321ULL);
  EXPECT_EQ(s.attributes_size(), 10);
  EXPECT_EQ(s.dropped_attributes_count(), 2u);
  EXPECT_EQ(Find(s.attributes(), "multiagent.worker.id")->string_value(), "worker-7");
  EXPECT_EQ(Find(s.attributes(), "multiagent.task.priority")->int_value(), -3);
  EXPECT_EQ(Find(s.attributes(), "big")->int_value(), 9'007'199'254'740'993);
  EXPECT_EQ(Find(s.attributes(), "ratio")->double_value(), 0.25);
  EXPECT_TRUE(Find(s.attributes(), "ok")->has_bool_value());
  EXPECT_FALSE(Find(s.attributes(), "ok")->bool_value());
  EXPECT_TRUE(Find(s.attributes(), "empty")->has_string_value());
  const auto& bools = Find(s.attributes(), "bools")->array_value();
  ASSERT_EQ(bools.values_size(), 2);
  EXPECT_TRUE(bools.values(0).bool_value());
  EXPECT_TRUE(bools.values(1).has_bool_value());
  const auto& ints = Find(s.attributes(), "ints")->array_value();
  ASSERT_EQ(ints.values_size(), 3);
  EXPECT_EQ(ints.values(1).int_value(), -2);
  EXPECT_EQ(ints.values(2).int_value(), 300);
  const auto& doubles = Find(s.attributes(), "doubles")->array_value();
  ASSERT_EQ(doubles.values_size(), 2);
  EXPECT_EQ(doubles.values(1).double_value(), -0.125);
  const auto& strings = Find(s.attributes(), "strings")->array_value();
  ASSERT_EQ(strings.values_size(), 3);
  EXPECT_EQ(strings.values(1).string_value(), "\"quoted\"\n");
  EXPECT_TRUE(strings.values(2).has_string_value());
  ASSERT_EQ(s.events_size(), 2);
  EXPECT_EQ(s.events(0).name(), "retry");
  EXPECT_EQ(s.events(0).time_unix_nano(), 1'700'000'000'500'000'000ULL);
  EXPECT_EQ(Find(s.events(0).attributes(), "attempt")->int_value(), 2);
  EXPECT_EQ(s.events(0).dropped_attributes_count(), 2u);
  EXPECT_EQ(s.events(1).name(), "done");
  EXPECT_EQ(s.dropped_events_count(), 3u);
  ASSERT_EQ(s.links_size(), 2);
  EXPECT_EQ(s.links(0).trace_id(), Bytes("11111111111111111111111111111111"));
  EXPECT_EQ(s.links(0).span_id(), Bytes("2222222222222222"));
  EXPECT_EQ(s.links(0).trace_state(), "vendor=linkstate");
  EXPECT_EQ(s.links(0).flags(), 0x301u);
  EXPECT_EQ(Find(s.links(0).attributes(), "link.kind")->string_value(), "follows");
  EXPECT_EQ(s.links(1).flags(), 0x100u);
  EXPECT_EQ(s.links(1).trace_state(), "");
  EXPECT_EQ(s.dropped_links_count(), 5u);
  EXPECT_EQ(s.status().code(), trace_pb::Status::STATUS_CODE_ERROR);
  EXPECT_EQ(s.status().message(), "upstream timed out");
}

TEST(OtlpEncoderTest, RootSpanOmitsParentAndMarksContextLocal) {
  Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.RootSpan());
  const auto req = Parse(*SerializeTraceRequestProto(spans));
  const trace_pb::Span& s = req.resource_spans(0).scope_spans(0).spans(0);
  EXPECT_TRUE(s.parent_span_id().empty());
  EXPECT_EQ(s.flags(), 0x101u);
  EXPECT_EQ(s.kind(), trace_pb::Span::SPAN_KIND_SERVER);
  EXPECT_EQ(s.status().code(), trace_pb::Status::STATUS_CODE_OK);
  EXPECT_TRUE(s.trace_state().empty());
  EXPECT_EQ(s.events_size(), 0);
  EXPECT_EQ(s.dropped_attributes_count(), 0u);
}

TEST(OtlpEncoderTest, SpanWithoutResourceOrScopeGetsEmptyOnes) {
  Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.SeedSpan(1));
  spans[0]->resource = nullptr;
  spans[0]->scope = nullptr;
  ExportTraceServiceRequest built;
  BuildTraceRequest(spans, built);
  std::string expected;
  ASSERT_TRUE(built.SerializeToString(&expected));
  EXPECT_EQ(*SerializeTraceRequestProto(spans), expected);
  const auto req = Parse(expected);
  EXPECT_TRUE(req.resource_spans(0).has_resource());
  EXPECT_EQ(req.resource_spans(0).resource().attributes_size(), 0);
  EXPECT_EQ(req.resource_spans(0).scope_spans(0).scope().name(), "");
}

TEST(OtlpEncoderTest, InvalidUtf8IsRepairedSoReceiversCanParse) {
  Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.SeedSpan(1));
  spans[0]->name = std::string("bad\xff\xfe name");
  spans[0]->attributes.Set("bytes", std::string_view("\xc3\x28 ok \xe2\x82\xac", 9));
  const auto bytes = SerializeTraceRequestProto(spans);
  ASSERT_TRUE(bytes.ok());
  ExportTraceServiceRequest built;
  BuildTraceRequest(spans, built);
  EXPECT_EQ(*bytes, built.SerializeAsString());
  const auto req = Parse(*bytes);  // libprotobuf rejects invalid UTF-8 in proto3 strings
  const auto& s = req.resource_spans(0).scope_spans(0).spans(0);
  EXPECT_EQ(s.name(), "bad\xEF\xBF\xBD\xEF\xBF\xBD name");
  EXPECT_EQ(Find(s.attributes(), "bytes")->string_value(), "\xEF\xBF\xBD( ok \xe2\x82\xac");
  const auto json = nlohmann::json::parse(EncodeTraceRequestJson(spans), nullptr, false);
  ASSERT_FALSE(json.is_discarded());
  EXPECT_EQ(json["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"],
            "bad\xEF\xBF\xBD\xEF\xBF\xBD name");
}

TEST(OtlpEncoderTest, EmptyBatchIsAnEmptyRequest) {
  std::vector<trace::SpanDataPtr> spans;
  EXPECT_EQ(*SerializeTraceRequestProto(spans), "");
  EXPECT_EQ(EncodeTraceRequestJson(spans), R"({"resourceSpans":[]})");
}

// --- OTLP/JSON ------------------------------------------------------------------------------

std::string HexToBase64(const std::string& hex) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string bytes = Bytes(hex);
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(kAlphabet[(v >> (6 * k)) & 63]);
  }
  if (bytes.size() - i == 1) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out += "==";
  } else if (bytes.size() - i == 2) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

// OTLP/JSON differs from protobuf's canonical mapping only in hex ids: undo that, then let
// libprotobuf's JSON parser judge everything else (key names, int64 strings, enums as ints).
void IdsToBase64(nlohmann::json& j) {
  if (j.is_object()) {
    for (auto& [key, value] : j.items()) {
      if ((key == "traceId" || key == "spanId" || key == "parentSpanId") && value.is_string()) {
        value = HexToBase64(value.get<std::string>());
      } else {
        IdsToBase64(value);
      }
    }
  } else if (j.is_array()) {
    for (auto& e : j) IdsToBase64(e);
  }
}

TEST(OtlpJsonTest, ParsesWithLibprotobufIntoTheSameMessage) {
  Fixture f;
  auto spans = Batch(f);
  const std::string json = EncodeTraceRequestJson(spans);
  auto doc = nlohmann::json::parse(json, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << json;
  IdsToBase64(doc);
  ExportTraceServiceRequest from_json;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  const auto st = google::protobuf::util::JsonStringToMessage(doc.dump(), &from_json, opts);
  ASSERT_TRUE(st.ok()) << st.ToString() << "\n" << json;
  ExportTraceServiceRequest built;
  BuildTraceRequest(spans, built);
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(built, from_json)) << diff;
}

TEST(OtlpJsonTest, FollowsTheOtlpJsonRules) {
  Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.RichSpan());
  const auto doc = nlohmann::json::parse(EncodeTraceRequestJson(spans));
  const auto& rs = doc["resourceSpans"][0];
  EXPECT_EQ(rs["schemaUrl"], "https://opentelemetry.io/schemas/1.24.0");
  const auto& s = rs["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(s["traceId"], "0af7651916cd43dd8448eb211c80319c");  // hex, not base64
  EXPECT_EQ(s["spanId"], "b7ad6b7169203331");
  EXPECT_EQ(s["parentSpanId"], "00f067aa0ba902b7");
  EXPECT_EQ(s["kind"], 3);  // enum as integer
  EXPECT_EQ(s["flags"], 0x303);
  EXPECT_EQ(s["startTimeUnixNano"], "1700000000123456789");  // fixed64 as string
  EXPECT_EQ(s["droppedAttributesCount"], 2);                 // uint32 as number
  EXPECT_EQ(s["status"]["code"], 2);
  EXPECT_EQ(s["status"]["message"], "upstream timed out");
  EXPECT_EQ(s["traceState"], "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  EXPECT_EQ(s["events"][0]["timeUnixNano"], "1700000000500000000");
  EXPECT_EQ(s["links"][0]["traceId"], "11111111111111111111111111111111");
  EXPECT_EQ(s["links"][0]["flags"], 0x301);
  bool saw_int = false, saw_array = false;
  for (const auto& kv : s["attributes"]) {
    if (kv["key"] == "big") {
      EXPECT_EQ(kv["value"], nlohmann::json::parse(R"({"intValue":"9007199254740993"})"));
      saw_int = true;
    }
    if (kv["key"] == "ints") {
      EXPECT_EQ(
          kv["value"],
          nlohmann::json::parse(
              R"({"arrayValue":{"values":[{"intValue":"1"},{"intValue":"-2"},{"intValue":"300"}]}})"));
      saw_array = true;
    }
    if (kv["key"] == "ok") {
      EXPECT_EQ(kv["value"], nlohmann::json::parse(R"({"boolValue":false})"));
    }
    if (kv["key"] == "empty") {
      EXPECT_EQ(kv["value"], nlohmann::json::parse(R"({"stringValue":""})"));
    }
  }
  EXPECT_TRUE(saw_int);
  EXPECT_TRUE(saw_array);
}

TEST(OtlpJsonTest, OmitsDefaults) {
  Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.RootSpan());
  const auto doc = nlohmann::json::parse(EncodeTraceRequestJson(spans));
  const auto& s = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  for (const char* absent : {"parentSpanId", "traceState", "attributes", "events", "links",
                             "droppedAttributesCount", "droppedEventsCount", "droppedLinksCount"}) {
    EXPECT_FALSE(s.contains(absent)) << absent;
  }
  EXPECT_FALSE(s["status"].contains("message"));
  EXPECT_FALSE(doc["resourceSpans"][0]["scopeSpans"][0].contains("schemaUrl"));
  EXPECT_FALSE(doc["resourceSpans"][0]["scopeSpans"][0]["scope"].contains("version"));
}

TEST(OtlpJsonTest, SpecialDoublesUseProtobufJsonStrings) {
  Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.SeedSpan(1));
  spans[0]->attributes.Set("nan", std::numeric_limits<double>::quiet_NaN());
  spans[0]->attributes.Set("inf", -std::numeric_limits<double>::infinity());
  const auto doc = nlohmann::json::parse(EncodeTraceRequestJson(spans));
  std::map<std::string, nlohmann::json> by_key;
  for (const auto& kv : doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"]) {
    by_key[kv["key"]] = kv["value"];
  }
  EXPECT_EQ(by_key["nan"]["doubleValue"], "NaN");
  EXPECT_EQ(by_key["inf"]["doubleValue"], "-Infinity");
}

// --- decoder --------------------------------------------------------------------------------

TEST(OtlpDecoderTest, RoundTripsEveryField) {
  Fixture f;
  auto spans = Batch(f);
  auto decoded = DecodeTraceRequestProto(*SerializeTraceRequestProto(spans));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->spans.size(), 3u);
  ASSERT_EQ(decoded->resources.size(), 1u);
  ASSERT_EQ(decoded->scopes.size(), 2u);
  // Grouping puts RichSpan and SeedSpan (same scope) first, then RootSpan.
  const trace::SpanData& got = decoded->spans[0];
  const trace::SpanData& want = *spans[0];
  EXPECT_EQ(got.trace_id, want.trace_id);
  EXPECT_EQ(got.span_id, want.span_id);
  EXPECT_EQ(got.parent_span_id, want.parent_span_id);
  EXPECT_EQ(got.flags, want.flags);
  EXPECT_TRUE(got.parent_is_remote);
  ASSERT_NE(got.trace_state, nullptr);
  EXPECT_EQ(*got.trace_state, *want.trace_state);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.start_time, want.start_time);
  EXPECT_EQ(got.end_time, want.end_time);
  ASSERT_EQ(got.attributes.size(), want.attributes.size());
  for (std::size_t i = 0; i < want.attributes.size(); ++i) {
    EXPECT_EQ(got.attributes[i].key, want.attributes[i].key);
    EXPECT_EQ(got.attributes[i].value, want.attributes[i].value) << want.attributes[i].key;
  }
  EXPECT_EQ(decoded->extras[0].dropped_attributes, 2u);
  EXPECT_EQ(decoded->extras[0].raw_flags, 0x303u);
  ASSERT_EQ(got.events.size(), 2u);
  EXPECT_EQ(got.events[0].name, "retry");
  EXPECT_EQ(got.events[0].time, want.events[0].time);
  EXPECT_EQ(decoded->extras[0].event_dropped_attributes[0], 2u);
  EXPECT_EQ(got.dropped_events, 3u);
  ASSERT_EQ(got.links.size(), 2u);
  EXPECT_EQ(got.links[0].context.trace_id(), want.links[0].context.trace_id());
  EXPECT_EQ(got.links[0].context.span_id(), want.links[0].context.span_id());
  EXPECT_TRUE(got.links[0].context.IsRemote());
  EXPECT_FALSE(got.links[1].context.IsRemote());
  EXPECT_EQ(got.links[0].context.trace_state().ToHeader(), "vendor=linkstate");
  EXPECT_EQ(decoded->extras[0].link_raw_flags[0], 0x301u);
  EXPECT_EQ(got.dropped_links, 5u);
  EXPECT_EQ(got.status, trace::SpanStatusCode::kError);
  EXPECT_EQ(got.status_description, "upstream timed out");
  EXPECT_EQ(got.resource->schema_url, f.resource.schema_url);
  EXPECT_EQ(got.scope->name, "minion.test");
  EXPECT_EQ(got.scope->version, "1.2.3");
  EXPECT_EQ(decoded->spans[2].scope->name, "minion.other");
  EXPECT_FALSE(decoded->spans[2].HasParent());
  EXPECT_FALSE(decoded->spans[2].parent_is_remote);
}

TEST(OtlpDecoderTest, RejectsMalformedInput) {
  auto r = DecodeTraceRequestProto(std::string_view("\x0a\xff\xff\xff", 4));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(OtlpDecoderTest, RejectsIdsOfTheWrongLength) {
  ExportTraceServiceRequest req;
  auto* span = req.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(15, '\x01'));
  span->set_span_id(std::string(8, '\x02'));
  auto r = DecodeTraceRequestProto(req.SerializeAsString());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("trace_id has 15 bytes"), std::string::npos)
      << r.status().ToString();
}

TEST(OtlpDecoderTest, CountsValuesMinionCannotRepresent) {
  ExportTraceServiceRequest req;
  auto* span = req.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\x01'));
  span->set_span_id(std::string(8, '\x02'));
  auto* kv = span->add_attributes();
  kv->set_key("map");
  kv->mutable_value()->mutable_kvlist_value();
  auto* mixed = span->add_attributes();
  mixed->set_key("mixed");
  mixed->mutable_value()->mutable_array_value()->add_values()->set_int_value(1);
  mixed->mutable_value()->mutable_array_value()->add_values()->set_string_value("x");
  auto* bytes = span->add_attributes();
  bytes->set_key("bytes");
  bytes->mutable_value()->set_bytes_value("raw");
  span->set_dropped_attributes_count(4);
  auto r = DecodeTraceRequestProto(req.SerializeAsString());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->spans[0].attributes.size(), 1u);
  EXPECT_EQ(std::get<std::string>(r->spans[0].attributes[0].value), "raw");
  EXPECT_EQ(r->extras[0].dropped_attributes, 6u);
  EXPECT_EQ(r->extras[0].raw_flags, 0u);
  EXPECT_EQ(r->spans[0].kind, trace::SpanKind::kInternal);  // UNSPECIFIED
}

}  // namespace
}  // namespace minion::otlp
