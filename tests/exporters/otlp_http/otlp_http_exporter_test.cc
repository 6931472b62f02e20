// OtlpHttpExporter behaviour that needs no receiver: option validation, shutdown rules, and
// delivery failure against a port nobody listens on (a real refused connection).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "minion/exporters/otlp_http_exporter.h"
#include "otlp/span_fixtures.h"

namespace minion::exporters {
namespace {

using std::chrono::nanoseconds;
using otlp::testing::Fixture;

// A port that was free a moment ago: bind to port 0, read the port, close.
int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(OtlpHttpExporterTest, RejectsGrpcProtocolAndNonHttpEndpoints) {
  OtlpExporterOptions grpc;
  grpc.protocol = OtlpProtocol::kGrpc;
  auto r = OtlpHttpExporter::Create(grpc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  OtlpExporterOptions bad;
  bad.endpoint = "localhost:4318";
  r = OtlpHttpExporter::Create(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("localhost:4318"), std::string::npos);
}

TEST(OtlpHttpExporterTest, NameAndIdempotentShutdown) {
  auto r = OtlpHttpExporter::Create(OtlpExporterOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->Name(), "otlp-http");
  EXPECT_TRUE((*r)->Shutdown(std::chrono::seconds(1)).ok());
  EXPECT_TRUE((*r)->Shutdown(std::chrono::seconds(1)).ok());
  Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.SeedSpan(1));
  EXPECT_EQ((*r)->Export(spans, std::chrono::seconds(1)), sdk::ExportResult::kFailure);
}

TEST(OtlpHttpExporterTest, EmptyBatchSendsNothing) {
  OtlpExporterOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(UnusedPort()) + "/v1/traces";
  auto r = OtlpHttpExporter::CreateHttp(o);
  ASSERT_TRUE(r.ok());
  std::vector<trace::SpanDataPtr> none;
  EXPECT_EQ((*r)->Export(none, std::chrono::seconds(1)), sdk::ExportResult::kSuccess);
  EXPECT_EQ((*r)->stats().requests, 0u);
}

TEST(OtlpHttpExporterTest, ReceiverDownFailsAfterRetriesAndCounts) {
  OtlpExporterOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(UnusedPort()) + "/v1/traces";
  o.timeout = std::chrono::milliseconds::max();
  std::vector<nanoseconds> waits;
  o.retry.sleep = [&waits](nanoseconds d) {  // record instead of sleeping
    waits.push_back(d);
    return true;
  };
  auto r = OtlpHttpExporter::CreateHttp(o);
  ASSERT_TRUE(r.ok());
  Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.SeedSpan(1));
  spans.push_back(f.SeedSpan(2));
  // No limit from either side (must not overflow the deadline arithmetic): max_attempts ends it.
  EXPECT_EQ((*r)->Export(spans, std::chrono::milliseconds::max()), sdk::ExportResult::kFailure);
  const auto st = (*r)->stats();
  EXPECT_EQ(st.requests, 5u);  // refused connections are retryable, up to max_attempts
  EXPECT_EQ(st.retries, 4u);
  EXPECT_EQ(waits.size(), 4u);
  EXPECT_EQ(st.failed_spans, 2u);
  EXPECT_EQ(st.failed_exports, 1u);
  EXPECT_EQ(st.exported_spans, 0u);
}

}  // namespace
}  // namespace minion::exporters
