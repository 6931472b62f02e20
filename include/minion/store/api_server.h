#pragma once
// The HTTP face of `minion serve`: OTLP/HTTP ingest (POST /v1/traces), the Jaeger v3 and
// classic v1 query APIs, and the UI, on the listeners docs/trace-store-api.md describes.
// Handlers only translate between HTTP and the TraceStore; the store does the work.
//
// Thread safety: Start/Shutdown from one owner; requests are served concurrently.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "minion/common/status.h"
#include "minion/http/server.h"
#include "minion/store/trace_store.h"

namespace minion::store {

// One file of the web UI, as the UI library embeds it.
struct UiAsset {
  std::string content_type;    // "text/html; charset=utf-8", "application/javascript", ...
  std::string_view body;       // static storage owned by the UI library
  std::string_view etag = {};  // quoted ETag ("" = none); If-None-Match on it answers 304
  std::vector<std::pair<std::string, std::string>> headers = {};  // e.g. Content-Security-Policy
};
// Looks up an asset by URL path ("/index.html", "/app.js"); nullopt when there is none (the
// server then answers /index.html).
using UiAssetLookup = std::function<std::optional<UiAsset>(std::string_view path)>;

struct ApiServerOptions {
  http::ServerOptions query;                     // query API + UI + OTLP/HTTP (--listen)
  std::optional<http::ServerOptions> otlp_http;  // OTLP/HTTP only (--otlp-http); nullopt = off
  UiAssetLookup ui_assets;                       // null = a built-in page listing the API
  int retry_after_seconds = 1;                   // Retry-After on 429/503
};

class ApiServer {
 public:
  // Binds the listeners and starts serving. kUnavailable when an address cannot be bound.
  static Result<std::unique_ptr<ApiServer>> Start(TraceStore& store, ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  int query_port() const;
  int otlp_http_port() const;  // 0 when off
  void Shutdown();             // idempotent

 private:
  ApiServer() = default;
  std::unique_ptr<http::Server> query_;
  std::unique_ptr<http::Server> otlp_;
};

// The OTLP/HTTP handler on its own (also what `minion serve` mounts), exposed for reuse.
void HandleOtlpHttp(TraceStore& store, int retry_after_seconds, const http::Request& req,
                    http::Response& res);

// Jaeger classic JSON of one trace ({"traceID", "spans", "processes", "warnings"}).
std::string JaegerV1TraceJson(const TracesData& trace);

}  // namespace minion::store
