// OtlpHttpExporter behaviour that needs no receiver: option validation, shutdown rules, and
// delivery failure against a port nobody listens on (a real refused connection).

#include <gtest/gtest.h>

#include "exporters/common/test_helpers.h"
#include "minion/common/clock.h"
#include "minion/exporters/otlp_http_exporter.h"
#include "otlp/span_fixtures.h"

namespace minion::exporters {
namespace {

using test_helpers::CountOf;
using test_helpers::UnusedPort;

using otlp::testing::Fixture;
using std::chrono::nanoseconds;

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
  auto r = OtlpHttpExporter::Create(o);
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
  auto r = OtlpHttpExporter::Create(o);
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

// A backend that is down must not flood stderr: one failure line per 10 s of the exporter's
// (here simulated) clock, the others counted and reported with the next line or at Shutdown.
TEST(OtlpHttpExporterTest, FailureLinesAreRateLimitedWithSuppressedCounts) {
  SimulatedClock clock;
  OtlpExporterOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(UnusedPort()) + "/v1/traces";
  o.clock = &clock;
  o.retry.max_attempts = 1;
  auto r = OtlpHttpExporter::Create(o);
  ASSERT_TRUE(r.ok());
  Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.SeedSpan(1));

  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ((*r)->Export(spans, std::chrono::seconds(10)), sdk::ExportResult::kFailure);
  clock.Advance(std::chrono::seconds(10));
  EXPECT_EQ((*r)->Export(spans, std::chrono::seconds(10)), sdk::ExportResult::kFailure);
  EXPECT_EQ((*r)->Export(spans, std::chrono::seconds(10)), sdk::ExportResult::kFailure);
  EXPECT_TRUE((*r)->Shutdown(std::chrono::seconds(5)).ok());
  const std::string err = ::testing::internal::GetCapturedStderr();

  EXPECT_EQ(CountOf(err, "otlp-http: failed to export 1 spans"), 2u) << err;
  EXPECT_EQ(CountOf(err, "(4 more failures suppressed since the previous message)"), 1u) << err;
  EXPECT_EQ(CountOf(err, "otlp-http: 1 more failure suppressed since the previous message"), 1u)
      << err;
  // Counting is not rate-limited: every failed batch is in the stats.
  EXPECT_EQ((*r)->stats().failed_exports, 7u);
  EXPECT_EQ((*r)->stats().failed_spans, 7u);
}

}  // namespace
}  // namespace minion::exporters
