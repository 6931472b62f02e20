#include "minion/http/server.h"

#include <httplib.h>

#include <charconv>

namespace minion::http {

std::string_view Request::Header(std::string_view name) const {
  auto it = raw->headers.find(std::string(name));
  return it == raw->headers.end() ? std::string_view() : std::string_view(it->second);
}

std::string_view Request::Param(std::string_view name) const {
  auto it = raw->params.find(std::string(name));
  return it == raw->params.end() ? std::string_view() : std::string_view(it->second);
}

bool Request::HasParam(std::string_view name) const {
  return raw->params.find(std::string(name)) != raw->params.end();
}

std::vector<std::string> Request::Params(std::string_view name) const {
  std::vector<std::string> out;
  auto range = raw->params.equal_range(std::string(name));
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

std::string_view Request::PathMatch(std::size_t i) const {
  if (i >= raw->matches.size()) return {};
  const auto& m = raw->matches[i];
  return std::string_view(&*m.first, static_cast<std::size_t>(m.length()));
}

std::string_view Request::Path() const { return raw->path; }

namespace {

void Emit(Response& ours, httplib::Response& res) {
  res.status = ours.status;
  for (auto& [k, v] : ours.headers) res.set_header(k, v);
  res.set_content(std::move(ours.body), ours.content_type);
}

void PlainError(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(
      "{\"error\":{\"httpCode\":" + std::to_string(status) + ",\"message\":\"" + message + "\"}}",
      "application/json");
}

// cpp-httplib compresses an answer with brotli whenever the client accepts it, and Debian's
// build (0.11.4) uses brotli's default quality, 11: 6 s of CPU for a 750 KB trace (1,000 spans)
// that gzip packs in milliseconds. Browsers always offer br, so take it off the request (the
// server owns this Request object; only the handler's view of it is const).
void PreferGzip(const httplib::Request& req) {
  auto range = req.headers.equal_range("Accept-Encoding");
  for (auto it = range.first; it != range.second; ++it) {
    std::string& value = const_cast<std::string&>(it->second);
    for (std::size_t at = value.find("br"); at != std::string::npos; at = value.find("br", at)) {
      value.replace(at, 2, "");
    }
  }
}

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {
  server_ = std::make_unique<httplib::Server>();
  const std::size_t threads = options_.threads == 0 ? 1 : options_.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(options_.max_body_bytes);
  server_->set_read_timeout(options_.read_timeout);
  server_->set_write_timeout(options_.write_timeout);
  server_->set_keep_alive_timeout(options_.keep_alive_timeout.count());
  server_->set_tcp_nodelay(true);
  // A handler that throws (it should not) answers 500 instead of taking the process down.
  server_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        PlainError(res, 500, "internal error");
      });
}

Server::~Server() { Shutdown(); }

void Server::Get(const std::string& pattern, Handler handler) {
  server_->Get(pattern,
               [h = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
                 PreferGzip(req);
                 Request ours;
                 ours.raw = &req;
                 Response out;
                 h(ours, out);
                 Emit(out, res);
               });
}

void Server::Post(const std::string& pattern, Handler handler) {
  // Read through a content receiver so the size cap applies to the bytes after gzip is undone
  // (cpp-httplib inflates Content-Encoding: gzip itself but does not bound the result) and to
  // bodies without Content-Length (chunked), which its payload limit does not cover.
  const std::size_t wire_cap = options_.max_body_bytes;
  const std::size_t inflated_cap = options_.max_inflated_body_bytes;
  server_->Post(pattern, [h = std::move(handler), wire_cap, inflated_cap](
                             const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader) {
    Request ours;
    ours.raw = &req;
    const bool compressed = req.has_header("Content-Encoding") &&
                            req.get_header_value("Content-Encoding") != "identity";
    const std::size_t cap = compressed ? inflated_cap : wire_cap;
    bool too_big = false;
    const bool read = reader([&](const char* data, std::size_t n) {
      if (ours.body.size() + n > cap) {
        too_big = true;
        return false;
      }
      ours.body.append(data, n);
      return true;
    });
    if (too_big || (!read && res.status == 413)) {
      res.set_header("Connection", "close");
      PlainError(res, 413,
                 "request body larger than " + std::to_string(cap) + " bytes" +
                     (compressed ? " after decompression" : ""));
      return;
    }
    if (!read) {
      const int status = res.status == 415 ? 415 : 400;
      res.set_header("Connection", "close");
      PlainError(
          res, status,
          status == 415 ? "unsupported Content-Encoding" : "could not read the request body");
      return;
    }
    Response out;
    h(ours, out);
    Emit(out, res);
  });
}

Status Server::Start() {
  int port = options_.port;
  if (port == 0) {
    port = server_->bind_to_any_port(options_.host);
    if (port < 0) return UnavailableError("cannot bind " + options_.host + ":0");
  } else if (!server_->bind_to_port(options_.host, port)) {
    return UnavailableError("cannot bind " + options_.host + ":" + std::to_string(port) +
                            " (in use, or not an address of this machine)");
  }
  port_ = port;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

void Server::Shutdown() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

Result<std::pair<std::string, int>> ParseListenAddress(std::string_view address) {
  std::string host;
  std::string_view port_text;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return InvalidArgumentError("bad address \"" + std::string(address) + "\": want [v6]:port");
    }
    host = std::string(address.substr(1, close - 1));
    port_text = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      return InvalidArgumentError("bad address \"" + std::string(address) + "\": want host:port");
    }
    host = std::string(address.substr(0, colon));
    port_text = address.substr(colon + 1);
  }
  int port = -1;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || p != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return InvalidArgumentError("bad port in \"" + std::string(address) + "\"");
  }
  if (host.empty()) host = "127.0.0.1";
  return std::make_pair(host, port);
}

}  // namespace minion::http
