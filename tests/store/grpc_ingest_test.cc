// OTLP/gRPC ingest on a real grpc++ server: accepted batches are stored; bad ids answer
// INVALID_ARGUMENT with a message; a message over the limit and a full queue answer
// RESOURCE_EXHAUSTED, the latter with a RetryInfo that minion's own gRPC exporter honours.
#include "minion/store/grpc_ingest.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>

#include "minion/exporters/otlp_grpc_exporter.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "store/fixtures.h"

namespace minion::store {
namespace {

using namespace testing;
namespace collector = opentelemetry::proto::collector::trace::v1;
constexpr std::uint64_t kSec = 1'000'000'000ULL;
constexpr std::uint64_t kT0 = 1'764'400'000ULL * kSec;

class GrpcIngestTest : public ::testing::Test {
 protected:
  void Start(StoreOptions so = {}, int max_message_bytes = 16 << 20) {
    so.path = dir_.File("t.db");
    store_ = TraceStore::Open(so).value();
    GrpcIngestOptions o;
    o.address = "127.0.0.1:0";
    o.max_message_bytes = max_message_bytes;
    server_ = GrpcIngestServer::Start(*store_, o).value();
    stub_ = collector::TraceService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (store_) store_->Shutdown();
  }
  grpc::Status Export(const ExportRequest& req) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    collector::ExportTraceServiceResponse resp;
    return stub_->Export(&ctx, req, &resp);
  }

  TempDir dir_;
  std::unique_ptr<TraceStore> store_;
  std::unique_ptr<GrpcIngestServer> server_;
  std::unique_ptr<collector::TraceService::Stub> stub_;
};

TEST_F(GrpcIngestTest, ExportStoresTheBatch) {
  Start();
  grpc::Status s = Export(TaskTrace(1, "a", 8, "worker-789", kT0, kSec));
  EXPECT_TRUE(s.ok()) << s.error_message();
  auto trace = store_->GetTrace(TraceIdBytes(1));
  ASSERT_TRUE(trace.ok());
  EXPECT_EQ(trace->resource_spans(0).scope_spans(0).spans_size(), 4);
}

TEST_F(GrpcIngestTest, BadIdsAnswerInvalidArgumentAndStoreNothing) {
  Start();
  ExportRequest req = TaskTrace(1, "a", 8, "w", kT0, kSec);
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(1)->set_trace_id("0123");
  grpc::Status s = Export(req);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("trace id must be 16"), std::string::npos) << s.error_message();
  EXPECT_EQ(store_->Stats().spans_written, 0u);
}

TEST_F(GrpcIngestTest, OversizedMessageAnswersResourceExhausted) {
  Start({}, 64 << 10);
  ExportRequest req = TaskTrace(1, "a", 8, "w", kT0, kSec);
  SetString(*req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0), "big",
            std::string(100 << 10, 'x'));
  EXPECT_EQ(Export(req).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(store_->Stats().spans_written, 0u);
}

TEST_F(GrpcIngestTest, FullQueueAnswersResourceExhaustedWithRetryInfoThatOurExporterHonours) {
  std::latch in_commit(1), release(1);
  std::atomic<bool> first{true};
  StoreOptions so;
  so.max_queued_spans = 4;
  so.before_commit = [&] {
    if (first.exchange(false)) {
      in_commit.count_down();
      release.wait();
    }
  };
  Start(so);
  auto held = std::async(std::launch::async,
                         [&] { return Export(TaskTrace(1, "a", 1, "w", kT0, kSec)).ok(); });
  in_commit.wait();
  grpc::Status refused = Export(TaskTrace(2, "b", 1, "w", kT0, kSec));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // The details parse with the exporter's own RetryInfo reader.
  EXPECT_EQ(exporters::ParseGrpcRetryDelay(refused.error_details()), std::chrono::seconds(1));

  exporters::OtlpExporterOptions o;
  o.protocol = exporters::OtlpProtocol::kGrpc;
  o.endpoint = "http://127.0.0.1:" + std::to_string(server_->port());
  o.timeout = std::chrono::seconds(30);
  std::vector<std::chrono::nanoseconds> waits;
  o.retry.on_retry = [&](int, std::chrono::nanoseconds d, const Status&) { waits.push_back(d); };
  o.retry.sleep = [&](std::chrono::nanoseconds) {
    release.count_down();
    EXPECT_TRUE(held.get());
    return true;
  };
  auto exporter = exporters::OtlpGrpcExporter::Create(o).value();
  trace::Resource resource;
  resource.attributes.Set("service.name", trace::AttributeValueView(std::string_view("grpc-svc")));
  trace::InstrumentationScope scope{"test", "1", "", {}};
  std::vector<trace::SpanDataPtr> spans;
  for (int i = 0; i < 20; ++i) {
    auto s = trace::AcquireSpanData();
    s->trace_id = trace::TraceId::FromHex("5bf92f3577b34da6a3ce929d0e0e4736").value();
    s->span_id =
        trace::SpanId::FromHex(std::string("00f067aa0ba90") + std::to_string(100 + i)).value();
    s->flags = trace::TraceFlags(1);
    s->name = "span";
    s->start_time = kT0;
    s->end_time = kT0 + 1000;
    s->resource = &resource;
    s->scope = &scope;
    spans.push_back(std::move(s));
  }
  EXPECT_EQ(exporter->Export(spans, std::chrono::seconds(30)), sdk::ExportResult::kSuccess);
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_EQ(waits[0], std::chrono::seconds(1));  // RetryInfo's delay
  std::string id(16, '\0');
  const auto tid = trace::TraceId::FromHex("5bf92f3577b34da6a3ce929d0e0e4736").value();
  std::memcpy(id.data(), tid.data(), 16);
  auto trace = store_->GetTrace(id);
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  EXPECT_EQ(trace->resource_spans(0).scope_spans(0).spans_size(), 20);
  (void)exporter->Shutdown(std::chrono::seconds(1));
}

}  // namespace
}  // namespace minion::store
