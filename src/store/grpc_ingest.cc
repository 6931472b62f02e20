#include "minion/store/grpc_ingest.h"

#include <grpcpp/grpcpp.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace minion::store {
namespace {

namespace collector = opentelemetry::proto::collector::trace::v1;

// Hand-written protobuf for the three tiny google.rpc messages (Debian ships no compiled
// google/rpc protos; the exporter reads them the same way, see retry_info.cc).
void Varint(std::string& out, std::uint64_t v) {
  do {
    const auto b = static_cast<std::uint8_t>(v & 0x7F);
    v >>= 7;
    out.push_back(static_cast<char>(v ? (b | 0x80) : b));
  } while (v);
}
void LengthDelimited(std::string& out, int field, std::string_view bytes) {
  out.push_back(static_cast<char>((field << 3) | 2));
  Varint(out, bytes.size());
  out.append(bytes);
}

class Service final : public collector::TraceService::Service {
 public:
  Service(TraceStore& store, std::chrono::seconds retry_delay)
      : store_(store), retry_delay_(retry_delay) {}

  grpc::Status Export(grpc::ServerContext*, const collector::ExportTraceServiceRequest* request,
                      collector::ExportTraceServiceResponse*) override {
    Status s = store_.Write(*request);
    if (s.ok()) return grpc::Status::OK;
    switch (s.code()) {
      case StatusCode::kInvalidArgument:
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, s.message());
      case StatusCode::kResourceExhausted:
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, s.message(),
                            RpcStatusWithRetryInfo(8, s.message(), retry_delay_));
      default:
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, s.message(),
                            RpcStatusWithRetryInfo(14, s.message(), retry_delay_));
    }
  }

 private:
  TraceStore& store_;
  std::chrono::seconds retry_delay_;
};

class Server final : public GrpcIngestServer {
 public:
  Server(TraceStore& store, GrpcIngestOptions options)
      : options_(std::move(options)), service_(store, options_.retry_delay) {}
  ~Server() override { Shutdown(); }

  Status Init() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options_.address, grpc::InsecureServerCredentials(), &port_);
    builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    if (!server_ || port_ == 0) {
      server_.reset();
      return UnavailableError("cannot listen for OTLP/gRPC on " + options_.address);
    }
    return Status::Ok();
  }
  int port() const override { return port_; }
  void Shutdown() override {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
      server_->Wait();
      server_.reset();
    }
  }

 private:
  GrpcIngestOptions options_;
  Service service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace

std::string RpcStatusWithRetryInfo(int code, const std::string& message,
                                   std::chrono::seconds delay) {
  std::string duration;
  duration.push_back(0x08);  // seconds = 1
  Varint(duration, static_cast<std::uint64_t>(delay.count()));
  std::string retry_info;
  LengthDelimited(retry_info, 1, duration);
  std::string any;
  LengthDelimited(any, 1, "type.googleapis.com/google.rpc.RetryInfo");
  LengthDelimited(any, 2, retry_info);
  std::string status;
  status.push_back(0x08);
  Varint(status, static_cast<std::uint64_t>(code));
  LengthDelimited(status, 2, message);
  LengthDelimited(status, 3, any);
  return status;
}

Result<std::unique_ptr<GrpcIngestServer>> GrpcIngestServer::Start(TraceStore& store,
                                                                  GrpcIngestOptions options) {
  auto server = std::make_unique<Server>(store, std::move(options));
  MINION_RETURN_IF_ERROR(server->Init());
  return std::unique_ptr<GrpcIngestServer>(std::move(server));
}

}  // namespace minion::store
