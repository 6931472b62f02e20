// OTLP/HTTP export throughput: the real OtlpHttpExporter (libcurl, one kept-alive connection)
// posting batches of 512 seed-shaped spans to a minimal local HTTP/1.1 receiver in this
// process, which reads each body and answers 200. It measures the exporter's cost (encode,
// optional gzip, HTTP round trip), not a collector's.
//
//   ninja -C build-otlp otlp_http_export_bench && build-otlp/bench/otlp_http_export_bench

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>

#include "minion/exporters/otlp_http_exporter.h"
#include "otlp/span_fixtures.h"

namespace {

using minion::exporters::OtlpCompression;
using minion::exporters::OtlpExporterOptions;
using minion::exporters::OtlpHttpExporter;
using minion::exporters::OtlpProtocol;
using minion::otlp::testing::Fixture;

class MiniReceiver {
 public:
  MiniReceiver() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(listen_fd_, 16);
    thread_ = std::thread([this] { Run(); });
  }
  ~MiniReceiver() {
    stop_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::uint64_t body_bytes() const { return body_bytes_; }

 private:
  void Run() {
    while (!stop_) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      Serve(fd);
      close(fd);
    }
  }
  void Serve(int fd) {
    std::string buf;
    char chunk[65536];
    for (;;) {
      std::size_t header_end;
      while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0) return;
        buf.append(chunk, static_cast<std::size_t>(n));
      }
      std::size_t content_length = 0;
      std::string headers = buf.substr(0, header_end);
      for (auto& c : headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (auto p = headers.find("content-length:"); p != std::string::npos) {
        content_length = std::strtoull(headers.c_str() + p + 15, nullptr, 10);
      }
      const std::size_t need = header_end + 4 + content_length;
      while (buf.size() < need) {
        const ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0) return;
        buf.append(chunk, static_cast<std::size_t>(n));
      }
      body_bytes_ += content_length;
      buf.erase(0, need);
      static constexpr char kOk[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
      if (write(fd, kOk, sizeof kOk - 1) < 0) return;
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> body_bytes_{0};
  std::thread thread_;
};

constexpr int kBatch = 512;

void BM_OtlpHttpExport(benchmark::State& state, OtlpProtocol protocol,
                       OtlpCompression compression) {
  MiniReceiver receiver;
  OtlpExporterOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/v1/traces";
  o.protocol = protocol;
  o.compression = compression;
  auto exporter = OtlpHttpExporter::Create(o);
  if (!exporter.ok()) {
    state.SkipWithError(exporter.status().ToString().c_str());
    return;
  }
  Fixture f;
  std::vector<minion::trace::SpanDataPtr> spans;
  for (int i = 0; i < kBatch; ++i) spans.push_back(f.SeedSpan(static_cast<std::uint64_t>(i)));
  for (auto _ : state) {
    if ((*exporter)->Export(spans, std::chrono::seconds(10)) !=
        minion::sdk::ExportResult::kSuccess) {
      state.SkipWithError("export failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  const auto st = (*exporter)->stats();
  state.counters["requests"] = static_cast<double>(st.requests);
  state.counters["wire_bytes_per_span"] =
      static_cast<double>(receiver.body_bytes()) /
      static_cast<double>(st.exported_spans ? st.exported_spans : 1);
  (void)(*exporter)->Shutdown(std::chrono::seconds(1));
}
BENCHMARK_CAPTURE(BM_OtlpHttpExport, protobuf, OtlpProtocol::kHttpProtobuf, OtlpCompression::kNone)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_OtlpHttpExport, protobuf_gzip, OtlpProtocol::kHttpProtobuf,
                  OtlpCompression::kGzip)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_OtlpHttpExport, json, OtlpProtocol::kHttpJson, OtlpCompression::kNone)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_OtlpHttpExport, json_gzip, OtlpProtocol::kHttpJson, OtlpCompression::kGzip)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
