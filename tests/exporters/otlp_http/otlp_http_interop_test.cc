// The real OtlpHttpExporter sending to a real node process that decodes with the OpenTelemetry
// project's generated code (@opentelemetry/otlp-transformer 0.52.1): every field minion sets
// must come out of OpenTelemetry's decoder with the value we put in, for protobuf and JSON,
// with and without gzip.

#include <gtest/gtest.h>

#include <map>

#include "exporters/otlp_http/node_receiver.h"
#include "minion/exporters/otlp_http_exporter.h"
#include "minion/sdk/batch_span_processor.h"
#include "minion/sdk/tracer_provider.h"
#include "otlp/span_fixtures.h"

namespace minion::exporters {
namespace {

using nlohmann::json;
using otlp::testing::Fixture;
using testing::NodeReceiver;

std::map<std::string, json> AttributesByKey(const json& list) {
  std::map<std::string, json> out;
  for (const auto& kv : list) out[kv["key"].get<std::string>()] = kv["value"];
  return out;
}

struct Combo {
  OtlpProtocol protocol;
  OtlpCompression compression;
  const char* name;
};

class OtlpHttpInteropTest : public ::testing::TestWithParam<Combo> {};

TEST_P(OtlpHttpInteropTest, EveryFieldSurvivesOpenTelemetrysDecoder) {
  NodeReceiver receiver;
  ASSERT_GT(receiver.port(), 0);
  OtlpExporterOptions options;
  options.endpoint = receiver.Endpoint();
  options.protocol = GetParam().protocol;
  options.compression = GetParam().compression;
  options.headers = {{"x-api-key", "secret value"}};
  auto exporter = OtlpHttpExporter::Create(options);
  ASSERT_TRUE(exporter.ok()) << exporter.status().ToString();

  Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.RichSpan());
  spans.push_back(f.RootSpan());
  ASSERT_EQ((*exporter)->Export(spans, std::chrono::seconds(20)), sdk::ExportResult::kSuccess);

  auto line = receiver.NextJson();
  ASSERT_TRUE(line.has_value());
  ASSERT_FALSE(line->contains("error")) << line->dump();
  const bool json_body = GetParam().protocol == OtlpProtocol::kHttpJson;
  EXPECT_EQ((*line)["format"], json_body ? "json" : "protobuf");
  if (GetParam().compression == OtlpCompression::kGzip) {
    EXPECT_EQ((*line)["encoding"], "gzip");
  } else {
    EXPECT_TRUE((*line)["encoding"].is_null());
  }
  EXPECT_EQ((*line)["headers"]["x-api-key"], "secret value");
  EXPECT_EQ((*line)["headers"]["content-type"],
            json_body ? "application/json" : "application/x-protobuf");

  const json& req = (*line)["request"];
  ASSERT_EQ(req["resourceSpans"].size(), 1u);
  const json& rs = req["resourceSpans"][0];
  auto resource_attrs = AttributesByKey(rs["resource"]["attributes"]);
  EXPECT_EQ(resource_attrs["service.name"], json::parse(R"({"stringValue":"otlp-test"})"));
  EXPECT_EQ(resource_attrs["service.instance.id"], json::parse(R"({"intValue":"42"})"));
  EXPECT_EQ(rs["schemaUrl"], "https://opentelemetry.io/schemas/1.24.0");
  ASSERT_EQ(rs["scopeSpans"].size(), 2u);
  const json& ss = rs["scopeSpans"][0];
  EXPECT_EQ(ss["scope"]["name"], "minion.test");
  EXPECT_EQ(ss["scope"]["version"], "1.2.3");
  EXPECT_EQ(AttributesByKey(ss["scope"]["attributes"])["scope.attr"],
            json::parse(R"({"boolValue":true})"));
  EXPECT_EQ(ss["schemaUrl"], "https://opentelemetry.io/schemas/1.21.0");
  ASSERT_EQ(ss["spans"].size(), 1u);

  const json& s = ss["spans"][0];
  EXPECT_EQ(s["traceId"], "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(s["spanId"], "b7ad6b7169203331");
  EXPECT_EQ(s["parentSpanId"], "00f067aa0ba902b7");
  EXPECT_EQ(s["traceState"], "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  EXPECT_EQ(s["name"], "worker.summarize");
  EXPECT_EQ(s["kind"], 3);
  EXPECT_EQ(s["startTimeUnixNano"], "1700000000123456789");
  EXPECT_EQ(s["endTimeUnixNano"], "1700000001987654321");
  EXPECT_EQ(s["droppedAttributesCount"], 2);
  auto attrs = AttributesByKey(s["attributes"]);
  EXPECT_EQ(attrs.size(), 10u);
  EXPECT_EQ(attrs["multiagent.worker.id"], json::parse(R"({"stringValue":"worker-7"})"));
  EXPECT_EQ(attrs["multiagent.task.priority"], json::parse(R"({"intValue":"-3"})"));
  EXPECT_EQ(attrs["big"], json::parse(R"({"intValue":"9007199254740993"})"));
  EXPECT_EQ(attrs["ratio"], json::parse(R"({"doubleValue":0.25})"));
  EXPECT_EQ(attrs["ok"], json::parse(R"({"boolValue":false})"));
  EXPECT_EQ(attrs["empty"], json::parse(R"({"stringValue":""})"));
  EXPECT_EQ(attrs["bools"],
            json::parse(R"({"arrayValue":{"values":[{"boolValue":true},{"boolValue":false}]}})"));
  EXPECT_EQ(
      attrs["ints"],
      json::parse(
          R"({"arrayValue":{"values":[{"intValue":"1"},{"intValue":"-2"},{"intValue":"300"}]}})"));
  EXPECT_EQ(
      attrs["doubles"],
      json::parse(R"({"arrayValue":{"values":[{"doubleValue":1.5},{"doubleValue":-0.125}]}})"));
  EXPECT_EQ(
      attrs["strings"],
      json::parse(
          R"({"arrayValue":{"values":[{"stringValue":"a"},{"stringValue":"\"quoted\"\n"},{"stringValue":""}]}})"));

  ASSERT_EQ(s["events"].size(), 2u);
  EXPECT_EQ(s["events"][0]["name"], "retry");
  EXPECT_EQ(s["events"][0]["timeUnixNano"], "1700000000500000000");
  EXPECT_EQ(AttributesByKey(s["events"][0]["attributes"])["attempt"],
            json::parse(R"({"intValue":"2"})"));
  EXPECT_EQ(s["events"][0]["droppedAttributesCount"], 2);
  EXPECT_EQ(s["events"][1]["name"], "done");
  EXPECT_EQ(s["droppedEventsCount"], 3);

  ASSERT_EQ(s["links"].size(), 2u);
  EXPECT_EQ(s["links"][0]["traceId"], "11111111111111111111111111111111");
  EXPECT_EQ(s["links"][0]["spanId"], "2222222222222222");
  EXPECT_EQ(s["links"][0]["traceState"], "vendor=linkstate");
  EXPECT_EQ(AttributesByKey(s["links"][0]["attributes"])["link.kind"],
            json::parse(R"({"stringValue":"follows"})"));
  EXPECT_EQ(s["links"][1]["traceId"], "33333333333333333333333333333333");
  EXPECT_EQ(s["droppedLinksCount"], 5);
  EXPECT_EQ(s["status"]["code"], 2);
  EXPECT_EQ(s["status"]["message"], "upstream timed out");

  // Flags: the pinned schema lacks them, so the receiver reads them off the wire (see the script).
  EXPECT_EQ((*line)["spanFlags"], json::parse("[771, 257]"));        // 0x303, 0x101
  EXPECT_EQ((*line)["linkFlags"], json::parse("[[769, 256], []]"));  // 0x301, 0x100

  const json& root = rs["scopeSpans"][1]["spans"][0];
  EXPECT_EQ(rs["scopeSpans"][1]["scope"]["name"], "minion.other");
  EXPECT_EQ(root["traceId"], "5b8efff798038103d269b633813fc60c");
  EXPECT_FALSE(root.contains("parentSpanId"));
  EXPECT_EQ(root["kind"], 2);
  EXPECT_EQ(root["status"]["code"], 1);

  const OtlpExporterStats st = (*exporter)->stats();
  EXPECT_EQ(st.exported_spans, 2u);
  EXPECT_EQ(st.requests, 1u);
  EXPECT_EQ(st.failed_spans, 0u);
  EXPECT_TRUE((*exporter)->Shutdown(std::chrono::seconds(5)).ok());
}

INSTANTIATE_TEST_SUITE_P(
    Encodings, OtlpHttpInteropTest,
    ::testing::Values(Combo{OtlpProtocol::kHttpProtobuf, OtlpCompression::kNone, "Protobuf"},
                      Combo{OtlpProtocol::kHttpProtobuf, OtlpCompression::kGzip, "ProtobufGzip"},
                      Combo{OtlpProtocol::kHttpJson, OtlpCompression::kNone, "Json"},
                      Combo{OtlpProtocol::kHttpJson, OtlpCompression::kGzip, "JsonGzip"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(OtlpHttpInteropTest, ManyBatchesOnOneConnection) {
  NodeReceiver receiver;
  ASSERT_GT(receiver.port(), 0);
  OtlpExporterOptions options;
  options.endpoint = receiver.Endpoint();
  auto exporter = OtlpHttpExporter::Create(options);
  ASSERT_TRUE(exporter.ok());
  Fixture f;
  for (int batch = 0; batch < 5; ++batch) {
    std::vector<trace::SpanDataPtr> spans;
    for (int i = 0; i < 100; ++i)
      spans.push_back(f.SeedSpan(static_cast<std::uint64_t>(batch * 100 + i)));
    ASSERT_EQ((*exporter)->Export(spans, std::chrono::seconds(20)), sdk::ExportResult::kSuccess);
    auto line = receiver.NextJson();
    ASSERT_TRUE(line.has_value());
    const json& got = (*line)["request"]["resourceSpans"][0]["scopeSpans"][0]["spans"];
    ASSERT_EQ(got.size(), 100u);
    EXPECT_EQ(got[0]["startTimeUnixNano"],
              std::to_string(1'700'000'000'000'000'000ULL + batch * 100 * 1000));
    EXPECT_EQ(AttributesByKey(got[99]["attributes"])["multiagent.task.priority"],
              json::parse(R"({"intValue":"5"})"));
  }
  EXPECT_EQ((*exporter)->stats().exported_spans, 500u);
  EXPECT_EQ((*exporter)->stats().connections, 1u);  // keep-alive: one connection for 5 requests
}

TEST(OtlpHttpInteropTest, PartialSuccessIsCounted) {
  for (auto protocol : {OtlpProtocol::kHttpProtobuf, OtlpProtocol::kHttpJson}) {
    NodeReceiver receiver({"--partial-rejected", "1", "--partial-message", "span too large"});
    ASSERT_GT(receiver.port(), 0);
    OtlpExporterOptions options;
    options.endpoint = receiver.Endpoint();
    options.protocol = protocol;
    auto exporter = OtlpHttpExporter::Create(options);
    ASSERT_TRUE(exporter.ok());
    Fixture f;
    std::vector<trace::SpanDataPtr> spans;
    spans.push_back(f.SeedSpan(1));
    spans.push_back(f.SeedSpan(2));
    spans.push_back(f.SeedSpan(3));
    ASSERT_EQ((*exporter)->Export(spans, std::chrono::seconds(20)), sdk::ExportResult::kSuccess);
    ASSERT_TRUE(receiver.NextJson().has_value());
    const auto st = (*exporter)->stats();
    EXPECT_EQ(st.rejected_spans, 1u) << OtlpProtocolName(protocol);
    EXPECT_EQ(st.exported_spans, 2u) << OtlpProtocolName(protocol);
  }
}

// The whole SDK pipeline: TracerProvider -> BatchSpanProcessor -> OtlpHttpExporter -> node.
TEST(OtlpHttpInteropTest, SdkPipelineDeliversThroughBatchProcessor) {
  NodeReceiver receiver;
  ASSERT_GT(receiver.port(), 0);
  OtlpExporterOptions options;
  options.endpoint = receiver.Endpoint();
  auto exporter = OtlpHttpExporter::Create(options);
  ASSERT_TRUE(exporter.ok());
  sdk::TracerProviderOptions po;
  po.resource.attributes.Set("service.name", "pipeline-test");
  po.merge_environment_resource = false;
  po.processors.push_back(std::make_unique<sdk::BatchSpanProcessor>(std::move(*exporter)));
  auto provider = sdk::TracerProvider::Create(std::move(po));
  auto tracer = provider->GetTracer("minion.pipeline", "9.9.9");
  for (int i = 0; i < 10; ++i) {
    trace::SpanStartOptions so;
    so.kind = trace::SpanKind::kProducer;
    auto span = tracer->StartSpan("step", {{"multiagent.task.id", "task-1"}, {"i", i}}, so);
    span.End();
  }
  ASSERT_TRUE(provider->ForceFlush(std::chrono::seconds(20)));
  std::size_t seen = 0;
  while (seen < 10) {
    auto line = receiver.NextJson();
    ASSERT_TRUE(line.has_value()) << "only " << seen << " spans arrived";
    ASSERT_FALSE(line->contains("error")) << line->dump();
    const json& rs = (*line)["request"]["resourceSpans"][0];
    auto resource = AttributesByKey(rs["resource"]["attributes"]);
    EXPECT_EQ(resource["service.name"], json::parse(R"({"stringValue":"pipeline-test"})"));
    EXPECT_EQ(resource["telemetry.sdk.name"], json::parse(R"({"stringValue":"minion"})"));
    const json& ss = rs["scopeSpans"][0];
    EXPECT_EQ(ss["scope"]["name"], "minion.pipeline");
    EXPECT_EQ(ss["scope"]["version"], "9.9.9");
    for (const auto& s : ss["spans"]) {
      EXPECT_EQ(s["name"], "step");
      EXPECT_EQ(s["kind"], 4);
      EXPECT_EQ(s["traceId"].get<std::string>().size(), 32u);
      EXPECT_EQ(AttributesByKey(s["attributes"])["multiagent.task.id"],
                json::parse(R"({"stringValue":"task-1"})"));
      ++seen;
    }
  }
  EXPECT_EQ(seen, 10u);
  EXPECT_TRUE(provider->Shutdown(std::chrono::seconds(5)));
}

}  // namespace
}  // namespace minion::exporters
