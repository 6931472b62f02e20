#include "minion/store/api_server.h"

#include <nlohmann/json.hpp>

#include <charconv>

#include "minion/store/otlp_json.h"
#include "minion/store/query.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "store/jaeger_v1.h"

namespace minion::store {
std::string PercentDecodeSegment(std::string_view s);
namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

void V3Error(http::Response& res, int status, const std::string& message) {
  res.status = status;
  res.body = Dump({{"error", {{"httpCode", status}, {"message", message}}}});
}

void V1Answer(http::Response& res, json data, std::size_t total) {
  res.body = Dump({{"data", std::move(data)},
                   {"total", total},
                   {"limit", 0},
                   {"offset", 0},
                   {"errors", nullptr}});
}

void V1Error(http::Response& res, int status, const std::string& message) {
  res.status = status;
  res.body = Dump({{"data", nullptr},
                   {"total", 0},
                   {"limit", 0},
                   {"offset", 0},
                   {"errors", json::array({{{"code", status}, {"msg", message}}})}});
}

// OTLP span kinds as Jaeger's APIs spell them.
const char* KindName(int kind) {
  static constexpr const char* kNames[] = {"unspecified", "internal", "server",
                                           "client",      "producer", "consumer"};
  return kind >= 0 && kind <= 5 ? kNames[kind] : "unspecified";
}

// "" = all kinds (-1); a name or an OTLP number otherwise; -2 for an unknown name.
int KindFromParam(std::string_view p) {
  if (p.empty()) return -1;
  for (int k = 0; k <= 5; ++k) {
    if (p == KindName(k)) return k;
  }
  int n = -2;
  std::from_chars(p.data(), p.data() + p.size(), n);
  return n >= 0 && n <= 5 ? n : -2;
}

Result<int> ParseLimit(std::string_view p) {
  if (p.empty()) return 20;
  int n = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
  if (ec != std::errc() || ptr != p.data() + p.size() || n < 0) {
    return InvalidArgumentError("limit must be a non-negative integer");
  }
  return n == 0 ? 20 : std::min(n, kMaxTraceLimit);
}

Result<std::int64_t> ParseMicros(std::string_view p, std::string_view what) {
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || ptr != p.data() + p.size() || v < 0) {
    return InvalidArgumentError(std::string(what) + " must be microseconds since the epoch");
  }
  return v * 1000;
}

Result<TraceQuery> V3Query(const http::Request& req) {
  TraceQuery q;
  q.service = std::string(req.Param("query.service_name"));
  q.operation = std::string(req.Param("query.operation_name"));
  for (const auto& a : req.Params("query.attributes")) {
    MINION_ASSIGN_OR_RETURN(auto conds, ParseAttributeConditions(a));
    q.attributes.insert(q.attributes.end(), conds.begin(), conds.end());
  }
  if (auto p = req.Param("query.start_time_min"); !p.empty()) {
    MINION_ASSIGN_OR_RETURN(q.start_min_ns, ParseTimeNanos(p));
  }
  if (auto p = req.Param("query.start_time_max"); !p.empty()) {
    MINION_ASSIGN_OR_RETURN(q.start_max_ns, ParseTimeNanos(p));
  }
  if (auto p = req.Param("query.duration_min"); !p.empty()) {
    MINION_ASSIGN_OR_RETURN(q.duration_min_ns, ParseDuration(p));
  }
  if (auto p = req.Param("query.duration_max"); !p.empty()) {
    MINION_ASSIGN_OR_RETURN(q.duration_max_ns, ParseDuration(p));
  }
  std::string_view limit = req.Param("query.num_traces");
  if (limit.empty()) limit = req.Param("query.search_depth");
  MINION_ASSIGN_OR_RETURN(q.limit, ParseLimit(limit));
  return q;
}

Result<TraceQuery> V1Query(const http::Request& req) {
  TraceQuery q;
  q.service = std::string(req.Param("service"));
  q.operation = std::string(req.Param("operation"));
  for (const auto& t : req.Params("tags")) {
    MINION_ASSIGN_OR_RETURN(auto conds, ParseAttributeConditions(t));
    q.attributes.insert(q.attributes.end(), conds.begin(), conds.end());
  }
  // Jaeger's legacy form: tag=key:value, repeated.
  for (const auto& t : req.Params("tag")) {
    const auto colon = t.find(':');
    if (colon == std::string::npos || colon == 0) {
      return InvalidArgumentError("tag \"" + t + "\" must be key:value");
    }
    MINION_ASSIGN_OR_RETURN(
        auto c, ParseAttributeCondition(t.substr(0, colon) + "=" + t.substr(colon + 1)));
    q.attributes.push_back(std::move(c));
  }
  if (auto p = req.Param("start"); !p.empty()) {
    MINION_ASSIGN_OR_RETURN(q.start_min_ns, ParseMicros(p, "start"));
  }
  if (auto p = req.Param("end"); !p.empty()) {
    MINION_ASSIGN_OR_RETURN(q.start_max_ns, ParseMicros(p, "end"));
  }
  if (auto p = req.Param("minDuration"); !p.empty()) {
    MINION_ASSIGN_OR_RETURN(q.duration_min_ns, ParseDuration(p));
  }
  if (auto p = req.Param("maxDuration"); !p.empty()) {
    MINION_ASSIGN_OR_RETURN(q.duration_max_ns, ParseDuration(p));
  }
  MINION_ASSIGN_OR_RETURN(q.limit, ParseLimit(req.Param("limit")));
  return q;
}

constexpr const char* kFallbackIndex = R"html(<!doctype html>
<html><head><meta charset="utf-8"><title>minion traces</title></head>
<body><h1>minion serve</h1>
<p>The web UI is not part of this build. The query API answers here:</p>
<ul><li><a href="/api/v3/services">/api/v3/services</a></li>
<li>/api/v3/traces?query.service_name=minion</li>
<li>/api/v3/traces/{trace_id}</li>
<li><a href="/api/services">/api/services</a> (Jaeger classic)</li></ul>
</body></html>
)html";

// google.rpc.Status {code = 1, message = 2} in protobuf, for OTLP/HTTP protobuf error bodies.
std::string RpcStatusProto(int code, const std::string& message) {
  std::string out;
  out.push_back(0x08);
  out.push_back(static_cast<char>(code));
  out.push_back(0x12);
  std::size_t n = message.size();
  do {
    const auto b = static_cast<std::uint8_t>(n & 0x7F);
    n >>= 7;
    out.push_back(static_cast<char>(n ? (b | 0x80) : b));
  } while (n);
  out += message;
  return out;
}

void RegisterQueryRoutes(http::Server& server, TraceStore& store) {
  // ---- Jaeger v3 ----
  server.Get("/api/v3/services", [&store](const http::Request&, http::Response& res) {
    auto services = store.Services();
    if (!services.ok())
      return V3Error(res, HttpStatusFor(services.status()), services.status().message());
    res.body = Dump({{"services", *services}});
  });
  server.Get("/api/v3/operations", [&store](const http::Request& req, http::Response& res) {
    const std::string service(req.Param("service"));
    if (service.empty()) return V3Error(res, 400, "parameter service is required");
    const int kind = KindFromParam(req.Param("span_kind"));
    if (kind == -2)
      return V3Error(
          res, 400,
          "span_kind must be one of unspecified, internal, server, client, producer, consumer");
    auto ops = store.Operations(service, kind);
    if (!ops.ok()) return V3Error(res, HttpStatusFor(ops.status()), ops.status().message());
    json list = json::array();
    for (const auto& op : *ops)
      list.push_back({{"name", op.name}, {"spanKind", KindName(op.kind)}});
    res.body = Dump({{"operations", std::move(list)}});
  });
  server.Get("/api/v3/traces", [&store](const http::Request& req, http::Response& res) {
    auto q = V3Query(req);
    if (!q.ok()) return V3Error(res, 400, q.status().message());
    if (q->service.empty() && q->attributes.empty())
      return V3Error(res, 400, "parameter query.service_name is required");
    auto traces = store.FindTraces(*q);
    if (!traces.ok())
      return V3Error(res, HttpStatusFor(traces.status()), traces.status().message());
    if (traces->empty()) return V3Error(res, 404, "No traces found");
    TracesData all;
    for (auto& t : *traces) {
      for (auto& rs : *t.mutable_resource_spans()) all.add_resource_spans()->Swap(&rs);
    }
    res.body = "{\"result\":";
    AppendOtlpJson(all, res.body);
    res.body += "}";
  });
  server.Get("/api/v3/traces/([^/]+)", [&store](const http::Request& req, http::Response& res) {
    auto id = FromHex(req.PathMatch(1), 16, "trace id");
    if (!id.ok()) return V3Error(res, 400, id.status().message());
    auto trace = store.GetTrace(*id);
    if (!trace.ok()) return V3Error(res, HttpStatusFor(trace.status()), trace.status().message());
    res.body = "{\"result\":";
    AppendOtlpJson(*trace, res.body);
    res.body += "}";
  });

  // ---- Jaeger classic ----
  server.Get("/api/services", [&store](const http::Request&, http::Response& res) {
    auto services = store.Services();
    if (!services.ok())
      return V1Error(res, HttpStatusFor(services.status()), services.status().message());
    const std::size_t n = services->size();
    V1Answer(res, *services, n);
  });
  server.Get("/api/services/([^/]+)/operations",
             [&store](const http::Request& req, http::Response& res) {
               auto service = PercentDecodeSegment(req.PathMatch(1));
               auto ops = store.Operations(service, -1);
               if (!ops.ok())
                 return V1Error(res, HttpStatusFor(ops.status()), ops.status().message());
               json names = json::array();
               std::string last;
               for (const auto& op : *ops) {
                 if (op.name == last) continue;  // one name per operation, whatever its kinds
                 names.push_back(op.name);
                 last = op.name;
               }
               const std::size_t n = names.size();
               V1Answer(res, std::move(names), n);
             });
  server.Get("/api/operations", [&store](const http::Request& req, http::Response& res) {
    const std::string service(req.Param("service"));
    if (service.empty()) return V1Error(res, 400, "parameter service is required");
    const int kind = KindFromParam(req.Param("spanKind"));
    if (kind == -2)
      return V1Error(res, 400,
                     "spanKind must be one of internal, server, client, producer, consumer");
    auto ops = store.Operations(service, kind);
    if (!ops.ok()) return V1Error(res, HttpStatusFor(ops.status()), ops.status().message());
    json list = json::array();
    for (const auto& op : *ops)
      list.push_back({{"name", op.name}, {"spanKind", op.kind <= 1 ? "" : KindName(op.kind)}});
    const std::size_t n = list.size();
    V1Answer(res, std::move(list), n);
  });
  server.Get("/api/traces", [&store](const http::Request& req, http::Response& res) {
    auto q = V1Query(req);
    if (!q.ok()) return V1Error(res, 400, q.status().message());
    if (q->service.empty() && q->attributes.empty())
      return V1Error(res, 400, "parameter service is required");
    auto traces = store.FindTraces(*q);
    if (!traces.ok())
      return V1Error(res, HttpStatusFor(traces.status()), traces.status().message());
    json data = json::array();
    for (const auto& t : *traces) data.push_back(internal::JaegerV1Trace(t));
    const std::size_t n = data.size();
    V1Answer(res, std::move(data), n);
  });
  server.Get("/api/traces/([^/]+)", [&store](const http::Request& req, http::Response& res) {
    auto id = FromHex(req.PathMatch(1), 16, "trace id");
    if (!id.ok()) return V1Error(res, 400, id.status().message());
    auto trace = store.GetTrace(*id);
    if (!trace.ok()) return V1Error(res, HttpStatusFor(trace.status()), trace.status().message());
    V1Answer(res, json::array({internal::JaegerV1Trace(*trace)}), 1);
  });
  server.Get("/api/.*", [](const http::Request& req, http::Response& res) {
    V3Error(res, 404, "no API endpoint " + std::string(req.Path()).substr(0, 200));
  });
}

void RegisterUi(http::Server& server, UiAssetLookup ui) {
  server.Get(".*", [ui = std::move(ui)](const http::Request& req, http::Response& res) {
    const std::string_view path = req.Path();
    if (path.rfind("/v1/", 0) == 0) {
      res.status = 405;
      res.body = "{\"code\":12,\"message\":\"OTLP/HTTP takes POST\"}";
      return;
    }
    if (ui) {
      // The lookup decides what is the UI's (its files and its deep links); anything else
      // (/favicon.ico, a probe, a typo) is a plain 404, not the app's HTML.
      std::optional<UiAsset> asset = ui(path == "/" ? "/index.html" : path);
      if (!asset) {
        res.status = 404;
        res.content_type = "text/plain; charset=utf-8";
        res.body = "404 not found\n";
        return;
      }
      {
        res.content_type = asset->content_type;
        res.headers = asset->headers;
        if (!asset->etag.empty()) {
          res.headers.emplace_back("ETag", std::string(asset->etag));
          // The ETag is a quoted hash, so finding it in the list (or "*") is the comparison.
          const std::string_view if_none_match = req.Header("If-None-Match");
          if (if_none_match == "*" || if_none_match.find(asset->etag) != std::string_view::npos) {
            res.status = 304;
            return;
          }
        }
        res.body.assign(asset->body);
        return;
      }
    }
    if (path != "/" && path != "/index.html") {
      res.status = 404;
      res.content_type = "text/plain; charset=utf-8";
      res.body = "404 not found\n";
      return;
    }
    res.content_type = "text/html; charset=utf-8";
    res.body = kFallbackIndex;
  });
}

}  // namespace

void HandleOtlpHttp(TraceStore& store, int retry_after_seconds, const http::Request& req,
                    http::Response& res) {
  std::string_view type = req.Header("Content-Type");
  if (const auto semi = type.find(';'); semi != std::string_view::npos) type = type.substr(0, semi);
  const bool is_json = type == "application/json";
  const bool is_proto = type == "application/x-protobuf" || type == "application/protobuf";
  auto fail = [&](int http_status, int grpc_code, const std::string& message) {
    res.status = http_status;
    if (is_proto) {
      res.content_type = "application/x-protobuf";
      res.body = RpcStatusProto(grpc_code, message);
    } else {
      res.content_type = "application/json";
      res.body = Dump({{"code", grpc_code}, {"message", message}});
    }
  };
  if (!is_json && !is_proto) {
    return fail(415, 3, "Content-Type must be application/x-protobuf or application/json");
  }
  ExportRequest request;
  if (is_proto) {
    if (!request.ParseFromString(req.body)) {
      return fail(400, 3, "body is not a valid protobuf ExportTraceServiceRequest");
    }
  } else {
    auto decoded = DecodeOtlpJson(req.body);
    if (!decoded.ok()) return fail(400, 3, decoded.status().message());
    request = std::move(decoded).value();
  }
  Status s = store.Write(std::move(request));
  if (s.ok()) {
    res.status = 200;
    res.content_type = is_proto ? "application/x-protobuf" : "application/json";
    res.body = is_proto ? "" : "{}";
    return;
  }
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return fail(400, 3, s.message());
    case StatusCode::kResourceExhausted:
      res.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
      return fail(429, 8, s.message());
    default:
      res.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
      return fail(503, 14, s.message());
  }
}

std::string PercentDecodeSegment(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

Result<std::unique_ptr<ApiServer>> ApiServer::Start(TraceStore& store, ApiServerOptions options) {
  std::unique_ptr<ApiServer> api(new ApiServer());
  const int retry_after = options.retry_after_seconds;
  auto ingest = [&store, retry_after](const http::Request& req, http::Response& res) {
    HandleOtlpHttp(store, retry_after, req, res);
  };
  api->query_ = std::make_unique<http::Server>(options.query);
  api->query_->Post("/v1/traces", ingest);
  RegisterQueryRoutes(*api->query_, store);
  RegisterUi(*api->query_, std::move(options.ui_assets));
  if (options.otlp_http) {
    api->otlp_ = std::make_unique<http::Server>(*options.otlp_http);
    api->otlp_->Post("/v1/traces", ingest);
    MINION_RETURN_IF_ERROR(api->otlp_->Start().WithContext("OTLP/HTTP listener"));
  }
  MINION_RETURN_IF_ERROR(api->query_->Start().WithContext("query listener"));
  return api;
}

ApiServer::~ApiServer() { Shutdown(); }

int ApiServer::query_port() const { return query_ ? query_->port() : 0; }
int ApiServer::otlp_http_port() const { return otlp_ ? otlp_->port() : 0; }

void ApiServer::Shutdown() {
  if (query_) query_->Shutdown();
  if (otlp_) otlp_->Shutdown();
}

}  // namespace minion::store
