#pragma once
// TaskApi: the coordinator as an HTTP service (`minion coordinator`). Routes, registered on the
// project's one HTTP server (minion/http/server.h):
//   POST /v1/tasks[?wait=true]  a TaskRequest as JSON {name, type, priority?, description?,
//                               input?}; 202 {"id", "status":"queued"} or, with wait, 200/500
//                               with the result (the task's own status decides the code)
//   GET  /v1/tasks/{id}[?wait=true&timeout_ms=N]
//                               status, per-subtask outputs, error, timings, trace id; with
//                               wait, answers once the task finished (or after timeout_ms,
//                               default 60000, with its current status)
//   GET  /healthz               liveness: 200 while the process serves
//   GET  /readyz                the coordinator's health check per component; 503 unhealthy
//   GET  /metrics               the Prometheus exposition (when metrics are given)
// An incoming W3C traceparent/tracestate/baggage makes the task's trace a child of the
// caller's: each POST is a SERVER span `POST /v1/tasks` with the HTTP semantic-convention
// attributes, the task span under it, and every response about a task carries its
// `traceparent`. Bad requests get a 4xx with {"error":{"code","message"}} saying what is wrong;
// with a token, everything but /healthz and /readyz needs `Authorization: Bearer <token>`.
// Accepted tasks run on a bounded pool; when its queue is full the POST gets 503 with
// Retry-After. Finished tasks are kept (bounded, oldest first out) for GET. Thread-safe.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "minion/agents/coordinator.h"
#include "minion/http/server.h"
#include "minion/metrics/prometheus_metrics.h"
#include "minion/observability/tracing.h"

namespace minion::service {

struct TaskApiOptions {
  std::string token;  // empty: no authentication
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_json_depth = 64;
  std::size_t workers = 8;        // tasks run at once for asynchronous submissions
  std::size_t max_queued = 1024;  // asynchronous tasks waiting to run; beyond: 503
  std::size_t max_kept = 10000;   // finished tasks kept for GET /v1/tasks/{id}
  std::shared_ptr<metrics::PrometheusMetrics> metrics;  // null: /metrics answers 404
  std::shared_ptr<trace::Tracer> tracer;  // null: observability::GetTracer() at each span
};

class TaskApi {
 public:
  // `coordinator` must outlive the TaskApi.
  TaskApi(agents::Coordinator& coordinator, TaskApiOptions options);
  ~TaskApi();  // Shutdown()
  TaskApi(const TaskApi&) = delete;
  TaskApi& operator=(const TaskApi&) = delete;

  // Adds the routes to `server` (before server.Start()).
  void Register(http::Server& server);
  // Refuses new tasks (503), finishes queued and running ones, joins the pool. Idempotent.
  void Shutdown();

  struct Stats {
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;  // 4xx and 503 answers to POST
    std::uint64_t finished = 0;
  };
  Stats stats() const;

 private:
  struct Record;
  void HandlePost(const http::Request& req, http::Response& res);
  void HandleGet(const http::Request& req, http::Response& res);
  void HandleReady(http::Response& res);
  bool Authorized(const http::Request& req, http::Response& res) const;
  void Run(const std::shared_ptr<Record>& record);
  void Keep(const std::shared_ptr<Record>& record);
  void WorkerLoop();

  agents::Coordinator& coordinator_;
  TaskApiOptions options_;
  std::shared_ptr<trace::Tracer> tracer_;  // null: the global tracer

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;                                   // a task finished
  std::unordered_map<std::string, std::shared_ptr<Record>> records_;  // guarded by mu_
  std::deque<std::string> finished_order_;                            // guarded by mu_
  std::deque<std::shared_ptr<Record>> queue_;                         // guarded by mu_
  bool stopping_ = false;                                             // guarded by mu_
  Stats stats_;                                                       // guarded by mu_
  std::vector<std::thread> pool_;
};

}  // namespace minion::service
