// The OTLP/gRPC exporter against a real gRPC server in another process
// (tests/interop/node/otlp_grpc_receiver.js: @grpc/grpc-js + the OpenTelemetry project's
// generated protobuf code), including the fault cases the OTLP specification defines.
// Retry waits are injected (recorded, not slept) so no test sleeps.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "exporters/otlp_grpc/grpc_receiver_process.h"
#include "minion/exporters/otlp_grpc_exporter.h"
#include "minion/sdk/batch_span_processor.h"
#include "minion/sdk/tracer_provider.h"
#include "otlp/span_fixtures.h"

namespace minion::exporters {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::GrpcReceiverProcess;

// Records the retry waits RunWithRetry asks for and returns at once.
struct RecordedWaits {
  std::mutex mu;
  std::vector<std::chrono::nanoseconds> waits;
  std::vector<std::chrono::nanoseconds> Get() {
    std::lock_guard<std::mutex> lock(mu);
    return waits;
  }
};

OtlpExporterOptions OptionsFor(const GrpcReceiverProcess& r, RecordedWaits* waits = nullptr) {
  OtlpExporterOptions o;
  o.protocol = OtlpProtocol::kGrpc;
  o.endpoint = "http://" + r.address();
  o.timeout = milliseconds(20000);
  o.retry.max_attempts = 5;
  o.retry.random = [] { return 0.0; };  // backoff 0: a recorded wait > 0 came from RetryInfo
  o.retry.sleep = [waits](std::chrono::nanoseconds d) {
    if (waits != nullptr) {
      std::lock_guard<std::mutex> lock(waits->mu);
      waits->waits.push_back(d);
    }
    return true;
  };
  return o;
}

std::unique_ptr<OtlpGrpcExporter> MakeExporter(OtlpExporterOptions o) {
  auto r = OtlpGrpcExporter::Create(std::move(o));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : nullptr;
}

#define ASSERT_RECEIVER(r) ASSERT_NE((r).port(), 0) << (r).error()

class OtlpGrpcInteropTest : public ::testing::Test {
 protected:
  otlp::testing::Fixture fx_;
  std::vector<trace::SpanDataPtr> TwoSpans() {
    std::vector<trace::SpanDataPtr> v;
    v.push_back(fx_.RichSpan());
    v.push_back(fx_.RootSpan());
    return v;
  }
};

const json* FindAttr(const json& attrs, const std::string& key) {
  for (const auto& a : attrs) {
    if (a.value("key", "") == key) return &a["value"];
  }
  return nullptr;
}

const json& FindSpan(const json& request, const std::string& name, json* scope_out = nullptr) {
  static const json kNull;
  for (const auto& rs : request["resourceSpans"]) {
    for (const auto& ss : rs["scopeSpans"]) {
      for (const auto& s : ss["spans"]) {
        if (s.value("name", "") == name) {
          if (scope_out != nullptr) *scope_out = ss;
          return s;
        }
      }
    }
  }
  ADD_FAILURE() << "no span named " << name << " in " << request.dump();
  return kNull;
}

TEST_F(OtlpGrpcInteropTest, EveryFieldArrivesThroughOpenTelemetryDecoder) {
  GrpcReceiverProcess receiver;
  ASSERT_RECEIVER(receiver);
  auto o = OptionsFor(receiver);
  o.headers = {{"X-Api-Key", "secret"}, {"tenant", "a b"}};
  auto exporter = MakeExporter(o);
  ASSERT_NE(exporter, nullptr);
  auto spans = TwoSpans();
  ASSERT_EQ(exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kSuccess);

  const auto calls = receiver.WaitForCalls(1);
  ASSERT_EQ(calls.size(), 1u);
  const json& call = calls[0];
  ASSERT_FALSE(call.contains("error")) << call.dump();
  EXPECT_EQ(call["code"], 0);
  // Headers arrive as lower-cased gRPC metadata.
  EXPECT_EQ(call["metadata"].value("x-api-key", ""), "secret");
  EXPECT_EQ(call["metadata"].value("tenant", ""), "a b");
  EXPECT_NE(call["metadata"].value("user-agent", "").find("OTel-OTLP-Exporter-Cpp-minion/"),
            std::string::npos)
      << call["metadata"].dump();

  const json& req = call["request"];
  ASSERT_EQ(req["resourceSpans"].size(), 1u);
  const json& rs = req["resourceSpans"][0];
  EXPECT_EQ(rs["schemaUrl"], "https://opentelemetry.io/schemas/1.24.0");
  ASSERT_NE(FindAttr(rs["resource"]["attributes"], "service.name"), nullptr);
  EXPECT_EQ((*FindAttr(rs["resource"]["attributes"], "service.name"))["stringValue"], "otlp-test");
  EXPECT_EQ((*FindAttr(rs["resource"]["attributes"], "service.instance.id"))["intValue"], "42");
  ASSERT_EQ(rs["scopeSpans"].size(), 2u);

  json scope;
  const json& s = FindSpan(req, "worker.summarize", &scope);
  EXPECT_EQ(scope["scope"]["name"], "minion.test");
  EXPECT_EQ(scope["scope"]["version"], "1.2.3");
  EXPECT_EQ(scope["schemaUrl"], "https://opentelemetry.io/schemas/1.21.0");
  EXPECT_EQ((*FindAttr(scope["scope"]["attributes"], "scope.attr"))["boolValue"], true);

  EXPECT_EQ(s["traceId"], "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(s["spanId"], "b7ad6b7169203331");
  EXPECT_EQ(s["parentSpanId"], "00f067aa0ba902b7");
  EXPECT_EQ(s["traceState"], "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  EXPECT_EQ(s["kind"], 3);  // SPAN_KIND_CLIENT
  EXPECT_EQ(s["startTimeUnixNano"], "1700000000123456789");
  EXPECT_EQ(s["endTimeUnixNano"], "1700000001987654321");
  const json& a = s["attributes"];
  EXPECT_EQ((*FindAttr(a, "multiagent.worker.id"))["stringValue"], "worker-7");
  EXPECT_EQ((*FindAttr(a, "multiagent.task.priority"))["intValue"], "-3");
  EXPECT_EQ((*FindAttr(a, "big"))["intValue"], "9007199254740993");
  EXPECT_EQ((*FindAttr(a, "ratio"))["doubleValue"], 0.25);
  EXPECT_EQ((*FindAttr(a, "ok"))["boolValue"], false);
  EXPECT_EQ((*FindAttr(a, "empty"))["stringValue"], "");
  EXPECT_EQ((*FindAttr(a, "bools"))["arrayValue"]["values"],
            json::parse(R"([{"boolValue":true},{"boolValue":false}])"));
  EXPECT_EQ((*FindAttr(a, "ints"))["arrayValue"]["values"],
            json::parse(R"([{"intValue":"1"},{"intValue":"-2"},{"intValue":"300"}])"));
  EXPECT_EQ((*FindAttr(a, "doubles"))["arrayValue"]["values"],
            json::parse(R"([{"doubleValue":1.5},{"doubleValue":-0.125}])"));
  EXPECT_EQ(
      (*FindAttr(a, "strings"))["arrayValue"]["values"],
      json::parse(R"([{"stringValue":"a"},{"stringValue":"\"quoted\"\n"},{"stringValue":""}])"));
  EXPECT_EQ(s["droppedAttributesCount"], 2);  // over.limit.1 and .2 (the list already holds 10)

  ASSERT_EQ(s["events"].size(), 2u);
  EXPECT_EQ(s["events"][0]["name"], "retry");
  EXPECT_EQ(s["events"][0]["timeUnixNano"], "1700000000500000000");
  EXPECT_EQ((*FindAttr(s["events"][0]["attributes"], "attempt"))["intValue"], "2");
  EXPECT_EQ(s["events"][0]["droppedAttributesCount"], 2);
  EXPECT_EQ(s["events"][1]["name"], "done");
  EXPECT_EQ(s["droppedEventsCount"], 3);

  ASSERT_EQ(s["links"].size(), 2u);
  EXPECT_EQ(s["links"][0]["traceId"], "11111111111111111111111111111111");
  EXPECT_EQ(s["links"][0]["spanId"], "2222222222222222");
  EXPECT_EQ(s["links"][0]["traceState"], "vendor=linkstate");
  EXPECT_EQ((*FindAttr(s["links"][0]["attributes"], "link.kind"))["stringValue"], "follows");
  EXPECT_EQ(s["links"][1]["traceId"], "33333333333333333333333333333333");
  EXPECT_EQ(s["links"][1]["spanId"], "4444444444444444");
  EXPECT_EQ(s["droppedLinksCount"], 5);
  EXPECT_EQ(s["status"]["code"], 2);  // STATUS_CODE_ERROR
  EXPECT_EQ(s["status"]["message"], "upstream timed out");

  const json& root = FindSpan(req, "orchestrator.run", &scope);
  EXPECT_EQ(scope["scope"]["name"], "minion.other");
  EXPECT_EQ(root["traceId"], "5b8efff798038103d269b633813fc60c");
  EXPECT_EQ(root["spanId"], "eee19b7ec3c1b174");
  EXPECT_FALSE(root.contains("parentSpanId") && root["parentSpanId"] != "") << root.dump();
  EXPECT_EQ(root["kind"], 2);  // SPAN_KIND_SERVER
  EXPECT_EQ(root["status"]["code"], 1);

  // Span.flags / Link.flags, read off the wire by field number (the pinned generated code
  // predates them): W3C flags in bits 0-7, HAS_IS_REMOTE 0x100, IS_REMOTE 0x200.
  ASSERT_EQ(call["rawFlags"].size(), 2u) << call.dump();
  json rich_flags, root_flags;
  for (const auto& f : call["rawFlags"]) (f["links"].size() == 2 ? rich_flags : root_flags) = f;
  EXPECT_EQ(rich_flags["flags"], 0x303);                      // sampled + random bit, remote parent
  EXPECT_EQ(rich_flags["links"], json::parse("[769, 256]"));  // 0x301 remote, 0x100 local
  EXPECT_EQ(root_flags["flags"], 0x101);

  const auto st = exporter->stats();
  EXPECT_EQ(st.exported_spans, 2u);
  EXPECT_EQ(st.requests, 1u);
  EXPECT_EQ(st.retries, 0u);
  EXPECT_EQ(st.failed_spans, 0u);
}

TEST_F(OtlpGrpcInteropTest, GzipCompressedRequestDecodes) {
  GrpcReceiverProcess receiver;
  ASSERT_RECEIVER(receiver);
  auto o = OptionsFor(receiver);
  o.compression = OtlpCompression::kGzip;
  auto exporter = MakeExporter(o);
  auto spans = TwoSpans();
  ASSERT_EQ(exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kSuccess);
  const auto calls = receiver.WaitForCalls(1);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["encoding"], "gzip") << calls[0].dump();
  EXPECT_EQ(FindSpan(calls[0]["request"], "worker.summarize")["spanId"], "b7ad6b7169203331");
}

TEST_F(OtlpGrpcInteropTest, UncompressedByDefault) {
  GrpcReceiverProcess receiver;
  ASSERT_RECEIVER(receiver);
  auto exporter = MakeExporter(OptionsFor(receiver));
  auto spans = TwoSpans();
  ASSERT_EQ(exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kSuccess);
  const auto calls = receiver.WaitForCalls(1);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(calls[0]["encoding"].is_null()) << calls[0].dump();
}

TEST_F(OtlpGrpcInteropTest, ReceiverDownAtStartFailsWithinTimeoutAndCounts) {
  int dead_port = 0;
  {
    GrpcReceiverProcess receiver;
    ASSERT_RECEIVER(receiver);
    dead_port = receiver.port();
    receiver.Kill();
  }
  OtlpExporterOptions o;
  o.protocol = OtlpProtocol::kGrpc;
  o.endpoint = "127.0.0.1:" + std::to_string(dead_port);
  o.retry.random = [] { return 0.0; };
  o.retry.sleep = [](std::chrono::nanoseconds) { return true; };
  auto exporter = MakeExporter(o);
  auto spans = TwoSpans();
  EXPECT_EQ(exporter->Export(spans, milliseconds(5000)), sdk::ExportResult::kFailure);
  const auto st = exporter->stats();
  EXPECT_EQ(st.failed_spans, 2u);
  EXPECT_EQ(st.failed_exports, 1u);
  EXPECT_EQ(st.exported_spans, 0u);
  EXPECT_EQ(st.requests, 5u);  // UNAVAILABLE is retried up to max_attempts
  EXPECT_EQ(st.retries, 4u);
}

TEST_F(OtlpGrpcInteropTest, UnavailableIsRetriedThenDeliveredOnce) {
  GrpcReceiverProcess receiver({"--unavailable", "2"});
  ASSERT_RECEIVER(receiver);
  RecordedWaits waits;
  auto exporter = MakeExporter(OptionsFor(receiver, &waits));
  auto spans = TwoSpans();
  ASSERT_EQ(exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kSuccess);
  const auto calls = receiver.WaitForCalls(3);
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0]["code"], 14);
  EXPECT_EQ(calls[1]["code"], 14);
  EXPECT_EQ(calls[2]["code"], 0);
  // Each attempt carried the same request.
  EXPECT_EQ(calls[0]["request"], calls[2]["request"]);
  const auto st = exporter->stats();
  EXPECT_EQ(st.requests, 3u);
  EXPECT_EQ(st.retries, 2u);
  EXPECT_EQ(st.exported_spans, 2u);
  EXPECT_EQ(waits.Get().size(), 2u);
}

TEST_F(OtlpGrpcInteropTest, RetryInfoDelayFromServerIsHonoured) {
  GrpcReceiverProcess receiver({"--unavailable", "1", "--retry-delay-ms", "1500"});
  ASSERT_RECEIVER(receiver);
  RecordedWaits waits;
  auto exporter = MakeExporter(OptionsFor(receiver, &waits));
  auto spans = TwoSpans();
  ASSERT_EQ(exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kSuccess);
  EXPECT_EQ(waits.Get(), std::vector<std::chrono::nanoseconds>{milliseconds(1500)});
}

TEST_F(OtlpGrpcInteropTest, RetryInfoLongerThanDeadlineStopsRetrying) {
  GrpcReceiverProcess receiver({"--unavailable", "5", "--retry-delay-ms", "60000"});
  ASSERT_RECEIVER(receiver);
  RecordedWaits waits;
  auto exporter = MakeExporter(OptionsFor(receiver, &waits));
  auto spans = TwoSpans();
  EXPECT_EQ(exporter->Export(spans, milliseconds(3000)), sdk::ExportResult::kFailure);
  EXPECT_TRUE(waits.Get().empty());  // never waited past the deadline
  EXPECT_EQ(exporter->stats().requests, 1u);
  EXPECT_EQ(exporter->stats().failed_spans, 2u);
}

TEST_F(OtlpGrpcInteropTest, ResourceExhaustedIsRetriedOnlyWithRetryInfo) {
  {
    GrpcReceiverProcess receiver({"--resource-exhausted", "1"});
    ASSERT_RECEIVER(receiver);
    auto exporter = MakeExporter(OptionsFor(receiver));
    auto spans = TwoSpans();
    EXPECT_EQ(exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kFailure);
    EXPECT_EQ(exporter->stats().requests, 1u);
  }
  {
    GrpcReceiverProcess receiver({"--resource-exhausted", "1", "--retry-delay-ms", "250"});
    ASSERT_RECEIVER(receiver);
    RecordedWaits waits;
    auto exporter = MakeExporter(OptionsFor(receiver, &waits));
    auto spans = TwoSpans();
    EXPECT_EQ(exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kSuccess);
    EXPECT_EQ(exporter->stats().requests, 2u);
    EXPECT_EQ(waits.Get(), std::vector<std::chrono::nanoseconds>{milliseconds(250)});
  }
}

TEST_F(OtlpGrpcInteropTest, InvalidArgumentIsNotRetried) {
  GrpcReceiverProcess receiver({"--invalid-argument"});
  ASSERT_RECEIVER(receiver);
  auto exporter = MakeExporter(OptionsFor(receiver));
  auto spans = TwoSpans();
  EXPECT_EQ(exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kFailure);
  const auto st = exporter->stats();
  EXPECT_EQ(st.requests, 1u);
  EXPECT_EQ(st.retries, 0u);
  EXPECT_EQ(st.failed_spans, 2u);
  EXPECT_EQ(receiver.WaitForCalls(1).size(), 1u);
}

TEST_F(OtlpGrpcInteropTest, SlowReceiverExportReturnsAtDeadline) {
  GrpcReceiverProcess receiver({"--hang"});
  ASSERT_RECEIVER(receiver);
  auto exporter = MakeExporter(OptionsFor(receiver));
  auto spans = TwoSpans();
  // The Export timeout (not the 20 s options timeout) bounds the call; if it were ignored the
  // call would never return and the test would hit CTest's timeout.
  EXPECT_EQ(exporter->Export(spans, milliseconds(500)), sdk::ExportResult::kFailure);
  EXPECT_GE(receiver.WaitForCalls(1).size(), 1u);
  EXPECT_EQ(exporter->stats().failed_exports, 1u);
  EXPECT_EQ(exporter->stats().exported_spans, 0u);
}

TEST_F(OtlpGrpcInteropTest, DelayedReceiverWithinDeadlineSucceeds) {
  GrpcReceiverProcess receiver({"--delay-ms", "300"});
  ASSERT_RECEIVER(receiver);
  auto exporter = MakeExporter(OptionsFor(receiver));
  auto spans = TwoSpans();
  EXPECT_EQ(exporter->Export(spans, milliseconds(15000)), sdk::ExportResult::kSuccess);
  EXPECT_EQ(exporter->stats().requests, 1u);
}

TEST_F(OtlpGrpcInteropTest, UnboundedTimeoutDoesNotOverflowTheDeadline) {
  GrpcReceiverProcess receiver;
  ASSERT_RECEIVER(receiver);
  auto o = OptionsFor(receiver);
  o.timeout = milliseconds::max();
  auto exporter = MakeExporter(o);
  auto spans = TwoSpans();
  EXPECT_EQ(exporter->Export(spans, milliseconds::max()), sdk::ExportResult::kSuccess);
}

TEST_F(OtlpGrpcInteropTest, PartialSuccessIsCountedAsRejected) {
  GrpcReceiverProcess receiver({"--partial-rejected", "1", "--partial-message", "span too old"});
  ASSERT_RECEIVER(receiver);
  auto exporter = MakeExporter(OptionsFor(receiver));
  auto spans = TwoSpans();
  EXPECT_EQ(exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kSuccess);
  const auto st = exporter->stats();
  EXPECT_EQ(st.rejected_spans, 1u);
  EXPECT_EQ(st.exported_spans, 1u);
  EXPECT_EQ(st.retries, 0u);
}

TEST_F(OtlpGrpcInteropTest, RequiredHeaderArrivesAsMetadata) {
  GrpcReceiverProcess receiver({"--require-header", "x-api-key=secret"});
  ASSERT_RECEIVER(receiver);
  auto spans = TwoSpans();
  {
    auto exporter = MakeExporter(OptionsFor(receiver));
    EXPECT_EQ(exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kFailure);
    EXPECT_EQ(exporter->stats().requests, 1u);  // UNAUTHENTICATED is permanent
  }
  auto o = OptionsFor(receiver);
  o.headers = {{"X-API-Key", "secret"}};
  auto exporter = MakeExporter(o);
  EXPECT_EQ(exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kSuccess);
  const auto calls = receiver.WaitForCalls(2);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["code"], 16);
  EXPECT_EQ(calls[1]["code"], 0);
}

TEST_F(OtlpGrpcInteropTest, ReceiverKilledMidRunMakesLaterExportsFailAndCount) {
  GrpcReceiverProcess receiver;
  ASSERT_RECEIVER(receiver);
  auto o = OptionsFor(receiver);
  o.retry.max_attempts = 2;
  auto exporter = MakeExporter(o);
  auto spans = TwoSpans();
  ASSERT_EQ(exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kSuccess);
  receiver.Kill();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kFailure);
  }
  const auto st = exporter->stats();
  EXPECT_EQ(st.exported_spans, 2u);
  EXPECT_EQ(st.failed_exports, 3u);
  EXPECT_EQ(st.failed_spans, 6u);
  EXPECT_EQ(st.requests, 1u + 3u * 2u);
}

TEST_F(OtlpGrpcInteropTest, ShutdownCancelsTheExportInFlight) {
  GrpcReceiverProcess receiver({"--hang"});
  ASSERT_RECEIVER(receiver);
  auto o = OptionsFor(receiver);
  o.timeout = milliseconds(120000);
  auto exporter = MakeExporter(o);
  auto spans = TwoSpans();
  auto result =
      std::async(std::launch::async, [&] { return exporter->Export(spans, milliseconds(120000)); });
  ASSERT_EQ(receiver.WaitForCalls(1).size(), 1u);  // the RPC is now stuck in the server
  // Bounded: TryCancel ends the RPC, so Shutdown does not wait for the 120 s deadline.
  EXPECT_TRUE(exporter->Shutdown(milliseconds(10000)).ok());
  EXPECT_EQ(result.get(), sdk::ExportResult::kFailure);
  EXPECT_EQ(exporter->stats().requests, 1u);
}

// The application's view: the exporter is stuck on a server that never answers and then
// disappears, and threads keep starting and ending spans. Every End() must complete (the
// batch processor drops and counts instead of blocking).
TEST_F(OtlpGrpcInteropTest, ApplicationThreadsNeverBlockOnAStuckOrDeadReceiver) {
  GrpcReceiverProcess receiver({"--hang"});
  ASSERT_RECEIVER(receiver);
  auto o = OptionsFor(receiver);
  o.timeout = milliseconds(120000);
  o.retry.max_attempts = 2;
  auto exporter_owned = MakeExporter(o);
  OtlpGrpcExporter* exporter = exporter_owned.get();
  sdk::BatchSpanProcessorOptions bsp_options;
  bsp_options.max_queue_size = 1024;
  bsp_options.max_export_batch_size = 512;
  bsp_options.schedule_delay = milliseconds(1);
  bsp_options.export_timeout = milliseconds(120000);
  auto bsp_owned =
      std::make_unique<sdk::BatchSpanProcessor>(std::move(exporter_owned), bsp_options);
  sdk::BatchSpanProcessor* bsp = bsp_owned.get();
  sdk::TracerProviderOptions po;
  po.processors.push_back(std::move(bsp_owned));
  po.merge_environment_resource = false;
  auto provider = sdk::TracerProvider::Create(std::move(po));
  auto tracer = provider->GetTracer("grpc-app-test");

  tracer->StartSpan("first").End();
  ASSERT_EQ(receiver.WaitForCalls(1).size(), 1u);  // the exporter is now stuck in an RPC

  constexpr int kThreads = 2;
  constexpr int kSpansPerThread = 20000;
  std::atomic<int> ended{0};
  auto run = [&] {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kSpansPerThread; ++i) {
          auto span = tracer->StartSpan("worker.step", {{"i", i}});
          span.End();
          ended.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    for (auto& th : threads) th.join();
  };
  run();
  EXPECT_EQ(ended.load(), kThreads * kSpansPerThread);
  // All those spans ended while the exporter was still inside its first RPC.
  EXPECT_EQ(exporter->stats().requests, 1u);
  EXPECT_EQ(exporter->stats().exported_spans + exporter->stats().failed_spans, 0u);
  auto bs = bsp->stats();
  EXPECT_GT(bs.dropped, 0u);
  EXPECT_EQ(bs.enqueued + bs.dropped, 1u + static_cast<std::uint64_t>(kThreads * kSpansPerThread));

  // The receiver dies mid-run: the stuck RPC fails, later exports fail fast; spans keep flowing.
  receiver.Kill();
  run();
  EXPECT_EQ(ended.load(), 2 * kThreads * kSpansPerThread);
  EXPECT_TRUE(provider->Shutdown(std::chrono::seconds(30)));
  bs = bsp->stats();
  const auto es = exporter->stats();
  EXPECT_EQ(bs.enqueued + bs.dropped,
            1u + static_cast<std::uint64_t>(2 * kThreads * kSpansPerThread));
  EXPECT_GT(es.failed_spans, 0u);
  EXPECT_EQ(es.exported_spans, 0u);
  EXPECT_EQ(bs.export_failures, es.failed_spans);
}

// TLS with a certificate made by the openssl CLI at test time; grpc-js serves it.
class OtlpGrpcTlsTest : public OtlpGrpcInteropTest {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("minion-grpc-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
        " -addext subjectAltName=DNS:localhost,IP:127.0.0.1"
        " -keyout " +
        (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string() + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl CLI failed: " << cmd;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(OtlpGrpcTlsTest, ExportsOverTlsAndRejectsUntrustedServer) {
  GrpcReceiverProcess receiver(
      {"--tls-cert", (dir_ / "cert.pem").string(), "--tls-key", (dir_ / "key.pem").string()});
  ASSERT_RECEIVER(receiver);
  auto spans = TwoSpans();

  auto o = OptionsFor(receiver);
  o.endpoint = "https://127.0.0.1:" + std::to_string(receiver.port());
  o.certificate_file = (dir_ / "cert.pem").string();
  auto exporter = MakeExporter(o);
  EXPECT_EQ(exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kSuccess);

  // Bare host:port with insecure=false and a CA also means TLS.
  auto bare = OptionsFor(receiver);
  bare.endpoint = "127.0.0.1:" + std::to_string(receiver.port());
  bare.certificate_file = (dir_ / "cert.pem").string();
  bare.insecure = false;
  auto bare_exporter = MakeExporter(bare);
  EXPECT_EQ(bare_exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kSuccess);

  // Without our CA the self-signed server is not trusted: the handshake fails, nothing arrives.
  auto untrusted = OptionsFor(receiver);
  untrusted.endpoint = "https://127.0.0.1:" + std::to_string(receiver.port());
  untrusted.retry.max_attempts = 1;
  auto untrusted_exporter = MakeExporter(untrusted);
  EXPECT_EQ(untrusted_exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kFailure);

  // Plaintext to a TLS port fails too.
  auto plain = OptionsFor(receiver);
  plain.retry.max_attempts = 1;
  auto plain_exporter = MakeExporter(plain);
  EXPECT_EQ(plain_exporter->Export(spans, milliseconds(10000)), sdk::ExportResult::kFailure);

  const auto calls = receiver.WaitForCalls(2);
  EXPECT_EQ(calls.size(), 2u);
  for (const auto& c : calls) EXPECT_EQ(c["code"], 0);
}

}  // namespace
}  // namespace minion::exporters
