// OTLP/gRPC export throughput: the real OtlpGrpcExporter sending batches of 512 seed-shaped
// spans (5 attributes) over one HTTP/2 connection on 127.0.0.1, to
//   - node: tests/interop/node/otlp_grpc_receiver.js --quiet (grpc-js; decodes every request
//     with OpenTelemetry's generated code, prints nothing) — a realistic peer, but node's
//     decode is part of each round trip;
//   - inproc: a grpc++ synchronous TraceService in this process that parses the request and
//     answers — closer to the exporter's own cost.
// Items processed = spans, so Google Benchmark prints spans/s.
//
//   ninja -C build-grpc otlp_grpc_export_bench && build-grpc/bench/otlp_grpc_export_bench

#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <vector>

#include "exporters/otlp_grpc/grpc_receiver_process.h"
#include "minion/exporters/otlp_grpc_exporter.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "otlp/span_fixtures.h"

namespace {

using minion::exporters::OtlpCompression;
using minion::exporters::OtlpExporterOptions;
using minion::exporters::OtlpGrpcExporter;
using minion::exporters::OtlpProtocol;
using minion::otlp::testing::Fixture;
namespace collector = opentelemetry::proto::collector::trace::v1;

constexpr int kBatch = 512;

class InProcService final : public collector::TraceService::Service {
 public:
  grpc::Status Export(grpc::ServerContext*, const collector::ExportTraceServiceRequest* req,
                      collector::ExportTraceServiceResponse*) override {
    spans_.fetch_add(static_cast<std::uint64_t>(req->resource_spans(0).scope_spans(0).spans_size()),
                     std::memory_order_relaxed);
    return grpc::Status::OK;
  }
  std::atomic<std::uint64_t> spans_{0};
};

void RunExport(benchmark::State& state, const std::string& endpoint, bool gzip) {
  Fixture fx;
  std::vector<minion::trace::SpanDataPtr> spans;
  for (int i = 0; i < kBatch; ++i) spans.push_back(fx.SeedSpan(static_cast<std::uint64_t>(i)));
  OtlpExporterOptions o;
  o.protocol = OtlpProtocol::kGrpc;
  o.endpoint = endpoint;
  o.retry.max_attempts = 1;
  if (gzip) o.compression = OtlpCompression::kGzip;
  auto exporter = OtlpGrpcExporter::Create(o);
  if (!exporter.ok()) {
    state.SkipWithError(exporter.status().ToString().c_str());
    return;
  }
  // Warm the connection so the first iteration does not pay for the HTTP/2 handshake.
  (void)(*exporter)->Export(spans, std::chrono::seconds(10));
  for (auto _ : state) {
    if ((*exporter)->Export(spans, std::chrono::seconds(10)) !=
        minion::sdk::ExportResult::kSuccess) {
      state.SkipWithError("export failed");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["failed_spans"] = static_cast<double>((*exporter)->stats().failed_spans);
}

void BM_GrpcExportToNodeReceiver(benchmark::State& state) {
  minion::exporters::testing::GrpcReceiverProcess receiver({"--quiet"});
  if (receiver.port() == 0) {
    state.SkipWithError(receiver.error().c_str());
    return;
  }
  RunExport(state, "http://" + receiver.address(), state.range(0) != 0);
}
BENCHMARK(BM_GrpcExportToNodeReceiver)
    ->Arg(0)
    ->Arg(1)
    ->ArgName("gzip")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_GrpcExportInProcess(benchmark::State& state) {
  InProcService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    state.SkipWithError("grpc++ server did not start");
    return;
  }
  RunExport(state, "http://127.0.0.1:" + std::to_string(port), state.range(0) != 0);
  server->Shutdown();
}
BENCHMARK(BM_GrpcExportInProcess)
    ->Arg(0)
    ->Arg(1)
    ->ArgName("gzip")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
