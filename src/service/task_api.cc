#include "minion/service/task_api.h"

#include <nlohmann/json.hpp>

#include <cstdlib>

#include "minion/common/json.h"
#include "minion/logging/logging.h"
#include "minion/propagation/baggage.h"
#include "minion/propagation/carriers.h"
#include "minion/propagation/composite.h"
#include "minion/propagation/trace_context.h"
#include "minion/trace/ids.h"
#include "task_request.h"

namespace minion::service {
namespace {

using nlohmann::json;

std::string Dump(const json& j) { return DumpJson(j); }

void Error(http::Response& res, int status, std::string_view code, const std::string& message) {
  res.status = status;
  res.content_type = "application/json";
  res.body = Dump(json{{"error", {{"code", code}, {"message", message}}}});
}

const trace::TextMapPropagator& W3CPropagator() {
  static const auto* p = [] {
    std::vector<std::unique_ptr<trace::TextMapPropagator>> parts;
    parts.push_back(std::make_unique<propagation::W3CTraceContextPropagator>());
    parts.push_back(std::make_unique<propagation::W3CBaggagePropagator>());
    return new propagation::CompositePropagator(std::move(parts));
  }();
  return *p;
}

std::string Traceparent(const trace::Context& context) {
  if (!context.HasSpan()) return "";
  propagation::HttpHeaderCarrier::Pairs headers;
  propagation::HttpHeaderCarrier carrier(headers);
  propagation::W3CTraceContextPropagator().Inject(context, carrier);
  for (const auto& [k, v] : headers) {
    if (k == "traceparent") return v;
  }
  return "";
}

std::string NewTaskId() { return "task-" + trace::DefaultIdGenerator().GenerateTraceId().ToHex(); }

}  // namespace

struct TaskApi::Record {
  std::string id;
  agents::TaskRequest request;
  trace::Context parent;  // the SERVER span's context
  std::string traceparent;
  UnixNanos submitted_at = 0;
  // Guarded by TaskApi::mu_.
  std::string status = "queued";
  std::optional<agents::TaskResult> result;

  json ToJson() const {
    json j = result ? result->ToJson() : json::object();
    j["id"] = id;
    j["status"] = status;
    j["name"] = request.name;
    j["type"] = request.type;
    j["submitted_at"] = submitted_at;
    if (!traceparent.empty()) j["traceparent"] = traceparent;
    if (!j.contains("trace_id") && parent.HasSpan())
      j["trace_id"] = parent.span_context().trace_id().ToHex();
    return j;
  }
};

TaskApi::TaskApi(agents::Coordinator& coordinator, TaskApiOptions options)
    : coordinator_(coordinator), options_(std::move(options)), tracer_(options_.tracer) {
  const std::size_t n = std::max<std::size_t>(1, options_.workers);
  for (std::size_t i = 0; i < n; ++i) pool_.emplace_back([this] { WorkerLoop(); });
}

TaskApi::~TaskApi() { Shutdown(); }

void TaskApi::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && pool_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : pool_) t.join();
  pool_.clear();
}

TaskApi::Stats TaskApi::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void TaskApi::Register(http::Server& server) {
  server.Post("/v1/tasks",
              [this](const http::Request& req, http::Response& res) { HandlePost(req, res); });
  server.Get("/v1/tasks/([^/]+)",
             [this](const http::Request& req, http::Response& res) { HandleGet(req, res); });
  server.Get("/healthz",
             [](const http::Request&, http::Response& res) { res.body = R"({"status":"ok"})"; });
  server.Get("/readyz", [this](const http::Request&, http::Response& res) { HandleReady(res); });
  server.Get("/metrics", [this](const http::Request& req, http::Response& res) {
    if (!Authorized(req, res)) return;
    if (!options_.metrics) return Error(res, 404, "not_found", "metrics are not enabled");
    res.content_type = std::string(metrics::PrometheusMetrics::kContentType);
    res.body = options_.metrics->Serialize();
  });
}

bool TaskApi::Authorized(const http::Request& req, http::Response& res) const {
  if (options_.token.empty()) return true;
  const std::string_view auth = req.Header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() > kBearer.size() && auth.substr(0, kBearer.size()) == kBearer &&
      auth.substr(kBearer.size()) == options_.token) {
    return true;
  }
  Error(res, 401, "unauthenticated",
        auth.empty() ? "missing Authorization: Bearer <token>" : "the bearer token is not valid");
  res.headers.emplace_back("WWW-Authenticate", "Bearer");
  return false;
}

void TaskApi::HandlePost(const http::Request& req, http::Response& res) {
  // The caller's trace context, if any (an invalid traceparent is ignored, per W3C).
  propagation::HttpHeaderCarrier::Pairs incoming;
  for (const char* h : {"traceparent", "tracestate", "baggage"}) {
    const std::string_view v = req.Header(h);
    if (!v.empty()) incoming.emplace_back(h, std::string(v));
  }
  const propagation::HttpHeaderCarrier carrier(incoming);
  const trace::Context caller = W3CPropagator().Extract(carrier, trace::Context());

  // Named references rather than a structured binding: the lambdas below capture them, which
  // clang 14 (the fuzz build's compiler) does not allow for structured bindings.
  observability::StartedSpan started =
      observability::StartSpan(observability::TracerOrGlobal(tracer_), caller, "POST /v1/tasks",
                               observability::Component::kMultiAgent, {}, trace::SpanKind::kServer);
  trace::Context& context = started.context;
  trace::Span& span = started.span;
  span.SetAttribute("http.request.method", "POST");
  span.SetAttribute("http.route", "/v1/tasks");
  span.SetAttribute("url.path", req.Path());
  span.SetAttribute("url.scheme", "http");
  span.SetAttribute("network.protocol.version", "1.1");
  if (const auto ua = req.Header("User-Agent"); !ua.empty())
    span.SetAttribute("user_agent.original", ua);
  const std::string traceparent = Traceparent(context);
  if (!traceparent.empty()) res.headers.emplace_back("traceparent", traceparent);
  auto finish = [&](int status) {
    span.SetAttribute("http.response.status_code", static_cast<std::int64_t>(status));
    if (status >= 500) {
      span.SetAttribute("error.type", std::to_string(status));
      span.SetStatus(trace::SpanStatusCode::kError, "HTTP " + std::to_string(status));
    }
    span.End();
  };
  auto reject = [&](int status, std::string_view code, const std::string& message) {
    Error(res, status, code, message);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.rejected;
    }
    logging::Log(logging::Level::kInfo, "api", "task rejected",
                 {{"status", status}, {"reason", message}}, &context);
    finish(status);
  };

  if (!Authorized(req, res)) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.rejected;
    finish(401);
    return;
  }
  if (req.body.size() > options_.max_body_bytes) {
    return reject(413, "payload_too_large",
                  "request body has " + std::to_string(req.body.size()) + " bytes; the limit is " +
                      std::to_string(options_.max_body_bytes));
  }
  auto parsed = ParseTaskRequest(req.body, options_.max_json_depth);
  if (!parsed.ok()) return reject(400, "invalid_argument", parsed.status().message());
  const std::set<std::string> capabilities = coordinator_.registry().Capabilities();
  if (!capabilities.count(parsed->type)) {
    std::string list;
    for (const auto& c : capabilities) list += (list.empty() ? "" : ", ") + c;
    return reject(400, "invalid_argument",
                  "unknown task type '" + parsed->type +
                      "'; the live capabilities are: " + (list.empty() ? "(none)" : list));
  }
  const std::string_view wait_param = req.Param("wait");
  const bool wait = wait_param == "true" || wait_param == "1";

  auto record = std::make_shared<Record>();
  record->id = NewTaskId();
  record->request = std::move(parsed).value();
  record->parent = context;
  record->traceparent = traceparent;
  record->submitted_at = SystemClock().Now();
  span.SetAttribute("multiagent.task.id", record->id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      ++stats_.rejected;
      res.headers.emplace_back("Retry-After", "5");
      Error(res, 503, "unavailable", "the coordinator is shutting down");
      finish(503);
      return;
    }
    if (!wait && queue_.size() >= options_.max_queued) {
      ++stats_.rejected;
      res.headers.emplace_back("Retry-After", "1");
      Error(res, 503, "unavailable",
            "too many queued tasks (" + std::to_string(options_.max_queued) +
                "); retry later or use ?wait=true");
      finish(503);
      return;
    }
    ++stats_.accepted;
    records_[record->id] = record;
    if (!wait) queue_.push_back(record);
  }
  res.headers.emplace_back("Location", "/v1/tasks/" + record->id);
  if (!wait) {
    cv_.notify_one();
    res.status = 202;
    res.body = Dump(json{{"id", record->id}, {"status", "queued"}, {"traceparent", traceparent}});
    finish(202);
    return;
  }
  Run(record);
  {
    std::lock_guard<std::mutex> lock(mu_);
    res.body = Dump(record->ToJson());
  }
  res.status = record->result && record->result->ok() ? 200 : 500;
  finish(res.status);
}

void TaskApi::Run(const std::shared_ptr<Record>& record) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    record->status = "running";
  }
  agents::TaskResult result =
      coordinator_.ExecuteTask(record->request, &record->parent, record->id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    record->status = std::string(result.status_name());
    record->result = std::move(result);
    ++stats_.finished;
  }
  done_cv_.notify_all();
  Keep(record);
}

void TaskApi::Keep(const std::shared_ptr<Record>& record) {
  std::lock_guard<std::mutex> lock(mu_);
  finished_order_.push_back(record->id);
  while (finished_order_.size() > options_.max_kept) {
    records_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
}

void TaskApi::WorkerLoop() {
  for (;;) {
    std::shared_ptr<Record> record;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      record = std::move(queue_.front());
      queue_.pop_front();
    }
    Run(record);
  }
}

void TaskApi::HandleGet(const http::Request& req, http::Response& res) {
  if (!Authorized(req, res)) return;
  const std::string id(req.PathMatch(1));
  const std::string_view wait_param = req.Param("wait");
  const bool wait = wait_param == "true" || wait_param == "1";
  std::int64_t timeout_ms = 60000;
  if (req.HasParam("timeout_ms")) {
    const std::string t(req.Param("timeout_ms"));
    char* end = nullptr;
    timeout_ms = std::strtoll(t.c_str(), &end, 10);
    if (t.empty() || *end != '\0' || timeout_ms < 0 || timeout_ms > 3'600'000) {
      return Error(res, 400, "invalid_argument", "timeout_ms must be an integer from 0 to 3600000");
    }
  }
  std::unique_lock<std::mutex> lock(mu_);
  auto it = records_.find(id);
  if (it != records_.end() && wait) {
    std::shared_ptr<Record> record = it->second;
    done_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return record->result.has_value() || stopping_; });
    if (!record->traceparent.empty()) res.headers.emplace_back("traceparent", record->traceparent);
    res.body = Dump(record->ToJson());
    return;
  }
  if (it == records_.end()) {
    return Error(res, 404, "not_found",
                 "no task with id '" + id + "' (finished tasks are kept up to " +
                     std::to_string(options_.max_kept) + ")");
  }
  if (!it->second->traceparent.empty())
    res.headers.emplace_back("traceparent", it->second->traceparent);
  res.body = Dump(it->second->ToJson());
}

void TaskApi::HandleReady(http::Response& res) {
  const agents::HealthReport report = coordinator_.HealthCheck();
  json components = json::array();
  for (const auto& c : report.components) {
    components.push_back({{"component", c.component},
                          {"state", agents::HealthStateName(c.state)},
                          {"detail", c.detail}});
  }
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping = stopping_;
  }
  const bool ready = report.overall != agents::HealthState::kUnhealthy && !stopping;
  res.status = ready ? 200 : 503;
  res.body = Dump(json{{"status", ready ? "ready" : "not_ready"},
                       {"health", agents::HealthStateName(report.overall)},
                       {"components", std::move(components)}});
}

}  // namespace minion::service
