// Tasks per second through the coordinator's HTTP task API (`minion coordinator`'s TaskApi on
// the project's HTTP toolkit), real HTTP over 127.0.0.1 with keep-alive, for a trivial handler
// (one in-process worker that echoes its input), so what is measured is the API, JSON, the
// coordinator, orchestrator, in-memory transport and ledger per task, not a model:
//   BM_ApiTaskWait        POST /v1/tasks?wait=true            -> 200 with the result
//   BM_ApiTaskAcceptGet   POST /v1/tasks (202), then GET /v1/tasks/{id}?wait=true -> 200
// Every answer is checked (status and "succeeded"); a wrong one stops the benchmark with an
// error. Prometheus metrics are on (as in `minion coordinator`); tracing is the global no-op
// tracer (no exporter), so span export cost is not included (see the trace/otlp benchmarks).
// Threads are concurrent clients, each with its own connection.
#include <curl/curl.h>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>
#include <string>

#include "minion/agents/coordinator.h"
#include "minion/agents/in_memory_protocol.h"
#include "minion/http/server.h"
#include "minion/metrics/prometheus_metrics.h"
#include "minion/service/task_api.h"

namespace {

using namespace minion;

// One coordinator + API + server for the whole program (started on first use).
struct Service {
  std::shared_ptr<metrics::PrometheusMetrics> metrics;
  std::unique_ptr<agents::Coordinator> coordinator;
  std::unique_ptr<service::TaskApi> api;
  std::unique_ptr<http::Server> server;
  std::string base;

  Service() {
    metrics = std::make_shared<metrics::PrometheusMetrics>();
    metrics::SetGlobalRecorder(metrics);
    agents::CoordinatorOptions o;
    o.protocol = std::make_shared<agents::InMemoryProtocol>();
    o.owns_protocol = true;
    auto c = agents::Coordinator::Create(std::move(o));
    if (!c.ok()) std::abort();
    coordinator = std::move(c).value();
    agents::WorkerMetadata meta;
    meta.agent_id = "echo-1";
    meta.role = "echo";
    meta.capabilities = {"echo"};
    auto w = coordinator->CreateWorker(
        meta, [](const trace::Context&, const agents::Subtask& s) -> Result<nlohmann::json> {
          return nlohmann::json{{"echo", s.input}};
        });
    if (!w.ok()) std::abort();
    service::TaskApiOptions ao;
    ao.metrics = metrics;
    ao.workers = 8;
    api = std::make_unique<service::TaskApi>(*coordinator, ao);
    http::ServerOptions so;
    so.threads = 16;
    server = std::make_unique<http::Server>(so);
    api->Register(*server);
    if (!server->Start().ok()) std::abort();
    base = "http://127.0.0.1:" + std::to_string(server->port());
  }
};

Service& TheService() {
  static Service* s = new Service();  // lives until exit: benchmark threads may still hold it
  return *s;
}

size_t Append(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

// One client connection (keep-alive), reused for every request of a benchmark thread.
class Client {
 public:
  Client() : curl_(curl_easy_init()) {
    headers_ = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Append);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &body_);
  }
  ~Client() {
    curl_slist_free_all(headers_);
    curl_easy_cleanup(curl_);
  }
  // The status code (0 on a transport failure); the body in body().
  long Call(const std::string& method, const std::string& url, const std::string& payload = "") {
    body_.clear();
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    if (method == "POST") {
      curl_easy_setopt(curl_, CURLOPT_HTTPGET, 0L);
      curl_easy_setopt(curl_, CURLOPT_POST, 1L);
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, payload.data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
      curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    } else {
      curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, nullptr);
    }
    if (curl_easy_perform(curl_) != CURLE_OK) return 0;
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }
  const std::string& body() const { return body_; }

 private:
  CURL* curl_;
  curl_slist* headers_ = nullptr;
  std::string body_;
};

const std::string kTask = R"({"name":"bench","type":"echo","input":{"n":1}})";

bool Succeeded(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  return j.is_object() && j.value("status", "") == "succeeded";
}

void BM_ApiTaskWait(benchmark::State& state) {
  Service& s = TheService();
  Client client;
  const std::string url = s.base + "/v1/tasks?wait=true";
  for (auto _ : state) {
    const long status = client.Call("POST", url, kTask);
    if (status != 200 || !Succeeded(client.body())) {
      state.SkipWithError(("POST ?wait=true answered " + std::to_string(status)).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ApiTaskWait)->Threads(1)->Threads(4)->UseRealTime();

void BM_ApiTaskAcceptGet(benchmark::State& state) {
  Service& s = TheService();
  Client client;
  const std::string post_url = s.base + "/v1/tasks";
  for (auto _ : state) {
    long status = client.Call("POST", post_url, kTask);
    if (status != 202) {
      state.SkipWithError(("POST answered " + std::to_string(status)).c_str());
      break;
    }
    auto accepted = nlohmann::json::parse(client.body(), nullptr, false);
    const std::string id = accepted.is_object() ? accepted.value("id", "") : "";
    status = client.Call("GET", s.base + "/v1/tasks/" + id + "?wait=true&timeout_ms=30000");
    if (status != 200 || !Succeeded(client.body())) {
      state.SkipWithError(("GET answered " + std::to_string(status)).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ApiTaskAcceptGet)->Threads(1)->Threads(4)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
