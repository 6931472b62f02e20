// Delivery faults against a real receiver process: retryable statuses with Retry-After,
// permanent errors, a receiver that never answers, one that dies mid-run, and Shutdown while a
// request is in flight. Nothing here sleeps: retry waits are injected and recorded, and a hung
// Export would be caught by the Export timeout or ctest's.

#include <gtest/gtest.h>

#include <future>

#include "exporters/otlp_http/node_receiver.h"
#include "minion/exporters/otlp_http_exporter.h"
#include "otlp/span_fixtures.h"

namespace minion::exporters {
namespace {

using nlohmann::json;
using otlp::testing::Fixture;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using testing::NodeReceiver;

// Tests named after a deadline check the time they took: never less than the deadline (where
// only the deadline can end the call) and at most the deadline plus this much, generous
// enough for a loaded 2-core CI machine running under TSan.
constexpr auto kSlack = seconds(2);
// The transfer timeout is handed to libcurl in whole milliseconds, measured from a moment
// just after the test's own start reading.
constexpr auto kRounding = milliseconds(20);

std::chrono::steady_clock::duration Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::steady_clock::now() - start;
}

struct Harness {
  explicit Harness(std::vector<std::string> args) : receiver(std::move(args)) {}

  std::unique_ptr<OtlpHttpExporter> Exporter(OtlpProtocol protocol = OtlpProtocol::kHttpProtobuf) {
    OtlpExporterOptions o;
    o.endpoint = receiver.Endpoint();
    o.protocol = protocol;
    o.retry.sleep = [this](nanoseconds d) {
      std::lock_guard<std::mutex> lock(mu);
      waits.push_back(d);
      return true;
    };
    auto r = OtlpHttpExporter::Create(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }

  std::vector<trace::SpanDataPtr> Spans(int n) {
    std::vector<trace::SpanDataPtr> spans;
    for (int i = 0; i < n; ++i) spans.push_back(fixture.SeedSpan(static_cast<std::uint64_t>(i)));
    return spans;
  }

  NodeReceiver receiver;
  Fixture fixture;
  std::mutex mu;
  std::vector<nanoseconds> waits;
};

TEST(OtlpHttpFaultTest, RetriesServiceUnavailableHonouringRetryAfterAndDeliversOnce) {
  for (auto protocol : {OtlpProtocol::kHttpProtobuf, OtlpProtocol::kHttpJson}) {
    Harness s({"--fail-status", "503", "--fail-count", "2", "--retry-after", "1"});
    ASSERT_GT(s.receiver.port(), 0);
    auto exporter = s.Exporter(protocol);
    ASSERT_NE(exporter, nullptr);
    auto spans = s.Spans(3);
    EXPECT_EQ(exporter->Export(spans, seconds(30)), sdk::ExportResult::kSuccess);
    int ok = 0, unavailable = 0;
    for (int i = 0; i < 3; ++i) {
      auto line = s.receiver.NextJson();
      ASSERT_TRUE(line.has_value());
      ASSERT_FALSE(line->contains("error")) << line->dump();
      // Every attempt carried the whole batch.
      EXPECT_EQ((*line)["request"]["resourceSpans"][0]["scopeSpans"][0]["spans"].size(), 3u);
      if ((*line)["status"] == 200) ++ok;
      if ((*line)["status"] == 503) ++unavailable;
    }
    EXPECT_EQ(ok, 1);
    EXPECT_EQ(unavailable, 2);
    EXPECT_EQ(s.receiver.Pending(), 0u);
    ASSERT_EQ(s.waits.size(), 2u);
    EXPECT_EQ(s.waits[0], seconds(1));  // the server's Retry-After, not the jittered backoff
    EXPECT_EQ(s.waits[1], seconds(1));
    const auto st = exporter->stats();
    EXPECT_EQ(st.requests, 3u);
    EXPECT_EQ(st.retries, 2u);
    EXPECT_EQ(st.exported_spans, 3u);
    EXPECT_EQ(st.failed_spans, 0u);
  }
}

TEST(OtlpHttpFaultTest, TooManyRequestsIsRetriedWithBackoff) {
  Harness s({"--fail-status", "429", "--fail-count", "1"});
  ASSERT_GT(s.receiver.port(), 0);
  auto exporter = s.Exporter();
  auto spans = s.Spans(1);
  EXPECT_EQ(exporter->Export(spans, seconds(30)), sdk::ExportResult::kSuccess);
  ASSERT_EQ(s.waits.size(), 1u);
  EXPECT_LE(s.waits[0], seconds(1));  // full jitter within the first backoff
  EXPECT_EQ(exporter->stats().requests, 2u);
}

TEST(OtlpHttpFaultTest, BadRequestIsNotRetried) {
  Harness s({"--fail-status", "400"});
  ASSERT_GT(s.receiver.port(), 0);
  auto exporter = s.Exporter();
  auto spans = s.Spans(4);
  EXPECT_EQ(exporter->Export(spans, seconds(30)), sdk::ExportResult::kFailure);
  auto line = s.receiver.NextJson();
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ((*line)["status"], 400);
  EXPECT_TRUE(s.waits.empty());
  const auto st = exporter->stats();
  EXPECT_EQ(st.requests, 1u);
  EXPECT_EQ(st.retries, 0u);
  EXPECT_EQ(st.failed_spans, 4u);
  EXPECT_EQ(st.failed_exports, 1u);
}

TEST(OtlpHttpFaultTest, PersistentUnavailableGivesUpAfterMaxAttempts) {
  Harness s({"--fail-status", "503"});
  ASSERT_GT(s.receiver.port(), 0);
  auto exporter = s.Exporter();
  auto spans = s.Spans(1);
  EXPECT_EQ(exporter->Export(spans, seconds(30)), sdk::ExportResult::kFailure);
  EXPECT_EQ(exporter->stats().requests, 5u);
  EXPECT_EQ(s.waits.size(), 4u);
}

TEST(OtlpHttpFaultTest, RetryAfterBeyondTheTimeoutFailsWithoutWaiting) {
  Harness s({"--fail-status", "503", "--retry-after", "3600"});
  ASSERT_GT(s.receiver.port(), 0);
  auto exporter = s.Exporter();
  auto spans = s.Spans(1);
  EXPECT_EQ(exporter->Export(spans, seconds(10)), sdk::ExportResult::kFailure);
  EXPECT_TRUE(s.waits.empty());
  EXPECT_EQ(exporter->stats().requests, 1u);
}

TEST(OtlpHttpFaultTest, SlowReceiverTimeoutIsHonoured) {
  // The receiver never answers: Export can only return because its timeout fired.
  Harness s({"--hang"});
  ASSERT_GT(s.receiver.port(), 0);
  auto exporter = s.Exporter();
  auto spans = s.Spans(2);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(exporter->Export(spans, milliseconds(300)), sdk::ExportResult::kFailure);
  const auto took = Since(start);
  EXPECT_GE(took, milliseconds(300) - kRounding);
  EXPECT_LE(took, milliseconds(300) + kSlack);
  auto line = s.receiver.NextJson();
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ((*line)["hang"], true);
  const auto st = exporter->stats();
  EXPECT_GE(st.requests, 1u);
  EXPECT_EQ(st.failed_spans, 2u);
}

TEST(OtlpHttpFaultTest, OptionsTimeoutAlsoBoundsExport) {
  Harness s({"--hang"});
  ASSERT_GT(s.receiver.port(), 0);
  OtlpExporterOptions o;
  o.endpoint = s.receiver.Endpoint();
  o.timeout = milliseconds(200);
  auto exporter = OtlpHttpExporter::Create(o);
  ASSERT_TRUE(exporter.ok());
  auto spans = s.Spans(1);
  // The caller allows an hour; OTEL_EXPORTER_OTLP_TIMEOUT's 200 ms wins.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ((*exporter)->Export(spans, std::chrono::hours(1)), sdk::ExportResult::kFailure);
  const auto took = Since(start);
  EXPECT_GE(took, milliseconds(200) - kRounding);
  EXPECT_LE(took, milliseconds(200) + kSlack);
}

TEST(OtlpHttpFaultTest, ReceiverKilledBetweenBatches) {
  Harness s({});
  ASSERT_GT(s.receiver.port(), 0);
  auto exporter = s.Exporter();
  auto first = s.Spans(2);
  ASSERT_EQ(exporter->Export(first, seconds(30)), sdk::ExportResult::kSuccess);
  ASSERT_TRUE(s.receiver.NextJson().has_value());
  s.receiver.Kill(SIGKILL);
  auto second = s.Spans(3);
  EXPECT_EQ(exporter->Export(second, seconds(30)), sdk::ExportResult::kFailure);
  const auto st = exporter->stats();
  EXPECT_EQ(st.exported_spans, 2u);
  EXPECT_EQ(st.failed_spans, 3u);
  EXPECT_EQ(st.requests, 6u);  // 1 delivered + 5 refused attempts
}

TEST(OtlpHttpFaultTest, ReceiverKilledWhileRequestInFlight) {
  Harness s({"--hang"});
  ASSERT_GT(s.receiver.port(), 0);
  auto exporter = s.Exporter();
  auto spans = s.Spans(2);
  auto result =
      std::async(std::launch::async, [&] { return exporter->Export(spans, seconds(60)); });
  auto line = s.receiver.NextJson();  // the request has arrived and will never be answered
  ASSERT_TRUE(line.has_value());
  const auto killed = std::chrono::steady_clock::now();
  s.receiver.Kill(SIGKILL);
  // The connection drops; retries (waits injected) find nobody listening; Export returns long
  // before its 60 s deadline.
  EXPECT_EQ(result.get(), sdk::ExportResult::kFailure);
  EXPECT_LE(Since(killed), kSlack);
  EXPECT_EQ(exporter->stats().failed_spans, 2u);
}

TEST(OtlpHttpFaultTest, ShutdownInterruptsRequestInFlight) {
  Harness s({"--hang"});
  ASSERT_GT(s.receiver.port(), 0);
  auto exporter = s.Exporter();
  auto spans = s.Spans(1);
  auto result =
      std::async(std::launch::async, [&] { return exporter->Export(spans, seconds(600)); });
  ASSERT_TRUE(s.receiver.NextJson().has_value());
  const auto shutdown = std::chrono::steady_clock::now();
  EXPECT_TRUE(exporter->Shutdown(seconds(5)).ok());
  EXPECT_EQ(result.get(), sdk::ExportResult::kFailure);
  EXPECT_LE(Since(shutdown), seconds(5) + kSlack);   // Shutdown's bound, not the 600 s Export's
  EXPECT_TRUE(exporter->Shutdown(seconds(5)).ok());  // idempotent
}

TEST(OtlpHttpFaultTest, ShutdownInterruptsRetryWait) {
  // With the default (real) wait, a 3600 s Retry-After inside a 7200 s timeout would block;
  // Shutdown must cut the wait short.
  NodeReceiver receiver({"--fail-status", "503", "--retry-after", "3600"});
  ASSERT_GT(receiver.port(), 0);
  OtlpExporterOptions o;
  o.endpoint = receiver.Endpoint();
  o.timeout = std::chrono::hours(2);
  std::promise<nanoseconds> waiting;
  o.retry.on_retry = [&waiting](int, nanoseconds wait, const Status&) { waiting.set_value(wait); };
  auto exporter = OtlpHttpExporter::Create(o);
  ASSERT_TRUE(exporter.ok());
  Fixture f;
  std::vector<trace::SpanDataPtr> spans;
  spans.push_back(f.SeedSpan(1));
  auto result = std::async(std::launch::async,
                           [&] { return (*exporter)->Export(spans, std::chrono::hours(2)); });
  ASSERT_TRUE(receiver.NextJson().has_value());
  // The exporter is about to wait the full hour the server asked for.
  EXPECT_EQ(waiting.get_future().get(), seconds(3600));
  const auto shutdown = std::chrono::steady_clock::now();
  EXPECT_TRUE((*exporter)->Shutdown(seconds(5)).ok());
  EXPECT_EQ(result.get(), sdk::ExportResult::kFailure);
  EXPECT_LE(Since(shutdown), seconds(5) + kSlack);  // not the hour the server asked for
  EXPECT_EQ((*exporter)->stats().requests, 1u);
}

}  // namespace
}  // namespace minion::exporters
