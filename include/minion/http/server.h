#pragma once
// minion's one HTTP server toolkit, used by every listener of the project (OTLP/HTTP ingest, the
// trace query API and UI; later the task API and /metrics). It wraps cpp-httplib's server with
// the project's defaults: loopback unless told otherwise, a request-body limit, read/write
// timeouts, a bounded worker pool, and request bodies that may arrive gzip-compressed with a cap
// on their inflated size (so a small "zip bomb" cannot exhaust memory).
//
// Why cpp-httplib (0.11.4, Debian libcpp-httplib-dev) rather than libmicrohttpd or civetweb: the
// ingest load is a handful of keep-alive connections from OTLP exporters each posting batches of
// hundreds of spans, so the cost per request is decoding and the SQLite transaction, not
// connection handling; a small pool of blocking workers serves that at the rates SQLite can
// absorb (see docs/benchmarks.md). cpp-httplib gives C++ routing, keep-alive, payload limits,
// timeouts and gzip decoding in one library already packaged for Debian 12, where libmicrohttpd
// would need our own routing and decompression and civetweb's C++ wrapper is thinner still.
//
// Thread safety: register routes before Start(); handlers run concurrently on the pool's
// threads and must be thread-safe. Start/Shutdown are called from one owning thread.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "minion/common/status.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace minion::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 = pick a free port; see Server::port()
  // Largest request body accepted as sent on the wire (413 above it).
  std::size_t max_body_bytes = 16u << 20;
  // Largest body after Content-Encoding: gzip is undone (413 above it).
  std::size_t max_inflated_body_bytes = 64u << 20;
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{10};
  std::chrono::seconds keep_alive_timeout{30};
  std::size_t threads = 8;  // worker threads serving connections
};

// The request as handlers see it. `body` is already inflated when it was sent gzip-compressed.
struct Request {
  const httplib::Request* raw = nullptr;  // method, path, headers, params, path matches
  std::string body;
  std::string_view Header(std::string_view name) const;  // "" when absent
  std::string_view Param(std::string_view name) const;   // first query parameter; "" when absent
  bool HasParam(std::string_view name) const;
  std::vector<std::string> Params(std::string_view name) const;  // every value, in order
  std::string_view PathMatch(std::size_t i) const;  // regex group i of the route pattern
  std::string_view Path() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using Handler = std::function<void(const Request&, Response&)>;

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // calls Shutdown()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Routes: `pattern` is an ECMAScript regex matched against the whole path; routes are tried
  // in registration order. POST handlers receive the (inflated) body; a body over the limits
  // is answered 413 before the handler runs.
  void Get(const std::string& pattern, Handler handler);
  void Post(const std::string& pattern, Handler handler);

  // Binds and starts serving on a background thread. Fails with kUnavailable when the address
  // cannot be bound.
  Status Start();
  int port() const { return port_; }
  const std::string& host() const { return options_.host; }
  // Stops accepting, finishes the requests in flight, joins the threads. Idempotent.
  void Shutdown();

 private:
  ServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// Splits "host:port" (IPv6 in brackets). Fails with kInvalidArgument on a bad port.
Result<std::pair<std::string, int>> ParseListenAddress(std::string_view address);

}  // namespace minion::http
