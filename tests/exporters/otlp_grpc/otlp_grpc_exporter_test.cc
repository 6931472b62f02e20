// Unit tests of the pieces of the gRPC exporter that need no server: endpoint resolution,
// RetryInfo parsing, option validation. The wire behaviour is tested against a real gRPC
// server in otlp_grpc_interop_test.cc.
#include "minion/exporters/otlp_grpc_exporter.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

namespace minion::exporters {
namespace {

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
  EXPECT_EQ(ResolveOtlpGrpcTarget(GrpcOptions("http://[::1]:55680/v1/traces"))->authority, "[::1]:55680");
}

TEST(ResolveOtlpGrpcTarget, RejectsOtherSchemesAndEmptyHost) {
  EXPECT_EQ(ResolveOtlpGrpcTarget(GrpcOptions("ftp://x:1")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveOtlpGrpcTarget(GrpcOptions("http://")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveOtlpGrpcTarget(GrpcOptions(":4317")).status().code(), StatusCode::kInvalidArgument);
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
std::string VarintField(int field, std::uint64_t v) { return Varint(static_cast<std::uint64_t>(field) << 3) + Varint(v); }

std::string StatusWithDetail(const std::string& type_url, const std::string& value) {
  const std::string any = Delimited(1, type_url) + Delimited(2, value);
  return VarintField(1, 14) + Delimited(2, "try later") + Delimited(3, any);
}

TEST(ParseGrpcRetryDelay, ReadsRetryInfoDuration) {
  const std::string duration = VarintField(1, 2) + VarintField(2, 500'000'000);
  const std::string retry_info = Delimited(1, duration);
  const auto d = ParseGrpcRetryDelay(StatusWithDetail("type.googleapis.com/google.rpc.RetryInfo", retry_info));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, std::chrono::milliseconds(2500));
}

TEST(ParseGrpcRetryDelay, SkipsOtherDetailsAndFindsRetryInfo) {
  const std::string other = Delimited(1, "type.googleapis.com/google.rpc.DebugInfo") + Delimited(2, "xyz");
  const std::string retry = Delimited(1, "type.googleapis.com/google.rpc.RetryInfo") +
                            Delimited(2, Delimited(1, VarintField(1, 7)));
  const std::string status = VarintField(1, 8) + Delimited(3, other) + Delimited(3, retry);
  EXPECT_EQ(ParseGrpcRetryDelay(status), std::chrono::seconds(7));
}

TEST(ParseGrpcRetryDelay, NoneWithoutRetryInfoOrOnGarbage) {
  EXPECT_FALSE(ParseGrpcRetryDelay("").has_value());
  EXPECT_FALSE(ParseGrpcRetryDelay(VarintField(1, 14) + Delimited(2, "no details")).has_value());
  EXPECT_FALSE(ParseGrpcRetryDelay(StatusWithDetail("type.googleapis.com/google.rpc.DebugInfo", "x")).has_value());
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
  EXPECT_NE(r.status().message().find("/nonexistent/ca.pem"), std::string::npos) << r.status().ToString();

  auto bad_header = GrpcOptions("localhost:4317");
  bad_header.headers = {{"Bad Key", "v"}};
  EXPECT_EQ(OtlpGrpcExporter::Create(bad_header).status().code(), StatusCode::kInvalidArgument);
}

TEST(OtlpGrpcExporter, ExportAfterShutdownFailsWithoutSending) {
  auto r = OtlpGrpcExporter::CreateGrpc(GrpcOptions("localhost:1"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto& exporter = **r;
  EXPECT_EQ(exporter.Name(), "otlp-grpc");
  EXPECT_TRUE(exporter.Shutdown(std::chrono::seconds(1)).ok());
  EXPECT_TRUE(exporter.Shutdown(std::chrono::seconds(1)).ok());  // idempotent
  trace::SpanDataPtr spans[1] = {trace::AcquireSpanData()};
  EXPECT_EQ(exporter.Export(spans, std::chrono::seconds(1)), sdk::ExportResult::kFailure);
  EXPECT_EQ(exporter.stats().requests, 0u);
}

}  // namespace
}  // namespace minion::exporters
