// Unit tests of the pieces of the gRPC exporter that need no other process: endpoint
// resolution, RetryInfo parsing, option validation, failure-log rate limiting, and the request
// bytes checked against libprotobuf through an in-process grpc++ server. The wire behaviour is
// tested against a real @grpc/grpc-js server in otlp_grpc_interop_test.cc.
#include "minion/exporters/otlp_grpc_exporter.h"

#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "exporters/common/test_helpers.h"
#include "minion/common/clock.h"
#include "minion/otlp/encoder.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "otlp/proto_message.h"
#include "otlp/span_fixtures.h"

namespace minion::exporters {
namespace {

using test_helpers::CountOf;
using test_helpers::UnusedPort;

OtlpExporterOptions GrpcOptions(std::string endpoint) {
  OtlpExporterOptions o;
  o.protocol = OtlpProtocol::kGrpc;
  o.endpoint = std::move(endpoint);
  return o;
}

TEST(ResolveOtlpGrpcTarget, HttpSchemeIsPlaintext) {
  auto t = ResolveOtlpGrpcTarget(GrpcOptions("http://collector:4317"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->authority, "collector:4317");
  EXPECT_FALSE(t->use_tls);
}

TEST(ResolveOtlpGrpcTarget, HttpsSchemeIsTls) {
  auto t = ResolveOtlpGrpcTarget(GrpcOptions("https://collector.example:443/"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->authority, "collector.example:443");
  EXPECT_TRUE(t->use_tls);
}

TEST(ResolveOtlpGrpcTarget, BareHostPortIsPlaintextUnlessSecureWithCertificate) {
  auto o = GrpcOptions("localhost:4317");
  auto t = ResolveOtlpGrpcTarget(o);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->authority, "localhost:4317");
  EXPECT_FALSE(t->use_tls);
  o.certificate_file = "/etc/ca.pem";
  o.insecure = false;
  EXPECT_TRUE(ResolveOtlpGrpcTarget(o)->use_tls);
  o.insecure = true;
  EXPECT_FALSE(ResolveOtlpGrpcTarget(o)->use_tls);
}

TEST(ResolveOtlpGrpcTarget, FromEnvironmentVariables) {
  std::map<std::string, std::string> env = {
      {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4317"},
      {"OTEL_EXPORTER_OTLP_TRACES_INSECURE", "false"},
      {"OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ca.pem"}};
  auto lookup = [&](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto o = OtlpExporterOptions::FromEnv("grpc", lookup);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->protocol, OtlpProtocol::kGrpc);
  auto t = ResolveOtlpGrpcTarget(*o);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->authority, "collector:4317");
  EXPECT_TRUE(t->use_tls);

  env.erase("OTEL_EXPORTER_OTLP_CERTIFICATE");
  EXPECT_FALSE(ResolveOtlpGrpcTarget(*OtlpExporterOptions::FromEnv("grpc", lookup))->use_tls);
  env.clear();  // the specification's default: http://localhost:4317, plaintext
  auto d = ResolveOtlpGrpcTarget(*OtlpExporterOptions::FromEnv("grpc", lookup));
  EXPECT_EQ(d->authority, "localhost:4317");
  EXPECT_FALSE(d->use_tls);
}

TEST(ResolveOtlpGrpcTarget, DefaultsPortAndDropsPath) {
  EXPECT_EQ(ResolveOtlpGrpcTarget(GrpcOptions("http://collector"))->authority, "collector:4317");
  EXPECT_EQ(ResolveOtlpGrpcTarget(GrpcOptions("http://[::1]"))->authority, "[::1]:4317");
  EXPECT_EQ(ResolveOtlpGrpcTarget(GrpcOptions("http://[::1]:55680/v1/traces"))->authority,
            "[::1]:55680");
}

TEST(ResolveOtlpGrpcTarget, RejectsOtherSchemesAndEmptyHost) {
  EXPECT_EQ(ResolveOtlpGrpcTarget(GrpcOptions("ftp://x:1")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveOtlpGrpcTarget(GrpcOptions("http://")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveOtlpGrpcTarget(GrpcOptions(":4317")).status().code(),
            StatusCode::kInvalidArgument);
}

// Protobuf wire bytes, written out by hand from google/rpc/status.proto, google/protobuf/any.proto,
// google/rpc/error_details.proto and google/protobuf/duration.proto field numbers.
std::string Varint(std::uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string Delimited(int field, const std::string& payload) {
  return Varint(static_cast<std::uint64_t>(field) << 3 | 2) + Varint(payload.size()) + payload;
}
std::string VarintField(int field, std::uint64_t v) {
  return Varint(static_cast<std::uint64_t>(field) << 3) + Varint(v);
}

std::string StatusWithDetail(const std::string& type_url, const std::string& value) {
  const std::string any = Delimited(1, type_url) + Delimited(2, value);
  return VarintField(1, 14) + Delimited(2, "try later") + Delimited(3, any);
}

TEST(ParseGrpcRetryDelay, ReadsRetryInfoDuration) {
  const std::string duration = VarintField(1, 2) + VarintField(2, 500'000'000);
  const std::string retry_info = Delimited(1, duration);
  const auto d =
      ParseGrpcRetryDelay(StatusWithDetail("type.googleapis.com/google.rpc.RetryInfo", retry_info));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, std::chrono::milliseconds(2500));
}

TEST(ParseGrpcRetryDelay, SkipsOtherDetailsAndFindsRetryInfo) {
  const std::string other =
      Delimited(1, "type.googleapis.com/google.rpc.DebugInfo") + Delimited(2, "xyz");
  const std::string retry = Delimited(1, "type.googleapis.com/google.rpc.RetryInfo") +
                            Delimited(2, Delimited(1, VarintField(1, 7)));
  const std::string status = VarintField(1, 8) + Delimited(3, other) + Delimited(3, retry);
  EXPECT_EQ(ParseGrpcRetryDelay(status), std::chrono::seconds(7));
}

TEST(ParseGrpcRetryDelay, NoneWithoutRetryInfoOrOnGarbage) {
  EXPECT_FALSE(ParseGrpcRetryDelay("").has_value());
  EXPECT_FALSE(ParseGrpcRetryDelay(VarintField(1, 14) + Delimited(2, "no details")).has_value());
  EXPECT_FALSE(
      ParseGrpcRetryDelay(StatusWithDetail("type.googleapis.com/google.rpc.DebugInfo", "x"))
          .has_value());
  EXPECT_FALSE(ParseGrpcRetryDelay(std::string("\x1a\x7f\x01", 3)).has_value());  // truncated
}

TEST(ParseGrpcRetryDelay, RetryInfoWithoutDelayMeansZero) {
  EXPECT_EQ(ParseGrpcRetryDelay(StatusWithDetail("type.googleapis.com/google.rpc.RetryInfo", "")),
            std::chrono::nanoseconds(0));
}

TEST(OtlpGrpcExporter, CreateRejectsHttpProtocolAndBadFiles) {
  OtlpExporterOptions http;
  EXPECT_EQ(OtlpGrpcExporter::Create(http).status().code(), StatusCode::kInvalidArgument);

  auto tls = GrpcOptions("https://localhost:4317");
  tls.certificate_file = "/nonexistent/ca.pem";
  auto r = OtlpGrpcExporter::Create(tls);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/ca.pem"), std::string::npos)
      << r.status().ToString();

  auto bad_header = GrpcOptions("localhost:4317");
  bad_header.headers = {{"Bad Key", "v"}};
  EXPECT_EQ(OtlpGrpcExporter::Create(bad_header).status().code(), StatusCode::kInvalidArgument);
}

TEST(OtlpGrpcExporter, ExportAfterShutdownFailsWithoutSending) {
  auto r = OtlpGrpcExporter::Create(GrpcOptions("localhost:1"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto& exporter = **r;
  EXPECT_EQ(exporter.Name(), "otlp-grpc");
  EXPECT_TRUE(exporter.Shutdown(std::chrono::seconds(1)).ok());
  EXPECT_TRUE(exporter.Shutdown(std::chrono::seconds(1)).ok());  // idempotent
  trace::SpanDataPtr spans[1] = {trace::AcquireSpanData()};
  EXPECT_EQ(exporter.Export(spans, std::chrono::seconds(1)), sdk::ExportResult::kFailure);
  EXPECT_EQ(exporter.stats().requests, 0u);
}

// One failure line per 10 s of the exporter's (simulated) clock; the rest are counted.
TEST(OtlpGrpcExporter, FailureLinesAreRateLimitedWithSuppressedCounts) {
  SimulatedClock clock;
  auto o = GrpcOptions("http://127.0.0.1:" + std::to_string(UnusedPort()));
  o.clock = &clock;
  o.retry.max_attempts = 1;
  auto r = OtlpGrpcExporter::Create(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  otlp::testing::Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.SeedSpan(1));
  spans.push_back(f.SeedSpan(2));

  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ((*r)->Export(spans, std::chrono::seconds(10)), sdk::ExportResult::kFailure);
  clock.Advance(std::chrono::seconds(10));
  EXPECT_EQ((*r)->Export(spans, std::chrono::seconds(10)), sdk::ExportResult::kFailure);
  EXPECT_EQ((*r)->Export(spans, std::chrono::seconds(10)), sdk::ExportResult::kFailure);
  EXPECT_TRUE((*r)->Shutdown(std::chrono::seconds(5)).ok());
  const std::string err = ::testing::internal::GetCapturedStderr();

  EXPECT_EQ(CountOf(err, "otlp-grpc: failed to export 2 spans"), 2u) << err;
  EXPECT_EQ(CountOf(err, "(3 more failures suppressed since the previous message)"), 1u) << err;
  EXPECT_EQ(CountOf(err, "otlp-grpc: 1 more failure suppressed since the previous message"), 1u)
      << err;
  EXPECT_EQ((*r)->stats().failed_exports, 6u);
  EXPECT_EQ((*r)->stats().failed_spans, 12u);
  EXPECT_EQ((*r)->stats().requests, 6u);
}

namespace collector = opentelemetry::proto::collector::trace::v1;

// Keeps what grpc++ (libprotobuf's generated parser) decoded from each request.
class RecordingTraceService final : public collector::TraceService::Service {
 public:
  grpc::Status Export(grpc::ServerContext*, const collector::ExportTraceServiceRequest* request,
                      collector::ExportTraceServiceResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    received_.push_back(*request);
    return grpc::Status::OK;
  }
  std::vector<collector::ExportTraceServiceRequest> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  std::mutex mu_;
  std::vector<collector::ExportTraceServiceRequest> received_;
};

// The exporter sends the hand-written encoder's bytes through grpc's generic API; a grpc++
// server's generated TraceService must decode them into exactly the message libprotobuf's own
// builder (BuildTraceRequest) makes from the same spans, with and without gzip.
TEST(OtlpGrpcExporter, RequestDecodesInGrpcppToTheLibprotobufMessage) {
  RecordingTraceService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_NE(port, 0);

  otlp::testing::Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.RichSpan());
  for (std::uint64_t i = 0; i < 20; ++i) spans.push_back(f.SeedSpan(i));
  otlp::ExportTraceServiceRequest expected;
  otlp::BuildTraceRequest(spans, expected);

  for (const auto compression : {OtlpCompression::kNone, OtlpCompression::kGzip}) {
    auto o = GrpcOptions("http://127.0.0.1:" + std::to_string(port));
    o.compression = compression;
    auto r = OtlpGrpcExporter::Create(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ((*r)->Export(spans, std::chrono::seconds(30)), sdk::ExportResult::kSuccess);
    EXPECT_EQ((*r)->stats().exported_spans, spans.size());
    EXPECT_EQ((*r)->stats().requests, 1u);
  }
  server->Shutdown();
  const auto received = service.received();
  ASSERT_EQ(received.size(), 2u);
  for (const auto& got : received) {
    std::string diff;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differ.Compare(expected, got)) << diff;
    // And the re-serialization matches the hand-written encoder byte for byte.
    EXPECT_EQ(got.SerializeAsString(), *otlp::SerializeTraceRequestProto(spans));
  }
}

}  // namespace
}  // namespace minion::exporters
