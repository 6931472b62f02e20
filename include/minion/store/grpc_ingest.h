#pragma once
// OTLP/gRPC ingest for the trace store: opentelemetry.proto.collector.trace.v1.TraceService/
// Export, served by grpc++'s synchronous server. Answers OK, INVALID_ARGUMENT (bad ids, with a
// message), RESOURCE_EXHAUSTED (message larger than the limit, or the write queue full; the
// latter with google.rpc.RetryInfo in the status details so exporters wait before retrying)
// and UNAVAILABLE (store shutting down or failing, also with RetryInfo).
//
// Thread safety: Start/Shutdown from one owner; calls are served concurrently by grpc.

#include <chrono>
#include <memory>
#include <string>

#include "minion/common/status.h"
#include "minion/store/trace_store.h"

namespace minion::store {

struct GrpcIngestOptions {
  std::string address = "127.0.0.1:4317";  // port 0 = pick one; see GrpcIngestServer::port()
  int max_message_bytes = 16 << 20;
  std::chrono::seconds retry_delay{1};
};

class GrpcIngestServer {
 public:
  static Result<std::unique_ptr<GrpcIngestServer>> Start(TraceStore& store,
                                                         GrpcIngestOptions options);
  virtual ~GrpcIngestServer() = default;
  virtual int port() const = 0;
  virtual void Shutdown() = 0;  // idempotent
};

// google.rpc.Status bytes carrying one google.rpc.RetryInfo detail (for tests and the server).
std::string RpcStatusWithRetryInfo(int code, const std::string& message,
                                   std::chrono::seconds delay);

}  // namespace minion::store
