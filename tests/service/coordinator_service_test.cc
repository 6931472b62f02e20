// `minion coordinator` as a real process on 127.0.0.1 with a free port, driven over HTTP the
// way curl would: tasks with and without wait, a caller's traceparent continued (checked in
// the spans the process exported to a file), 500 tasks from 8 concurrent clients, a table of
// malformed requests, the bearer token, and a real Prometheus scraping /metrics and queried
// through its HTTP API.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "service/child_process.h"
#include "service/http_client.h"

namespace minion {
namespace {

using nlohmann::json;
using testing::ChildProcess;
using testing::ClientResponse;
using testing::HttpCall;

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class CoordinatorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("minion-service-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    coordinator_.reset();
    std::filesystem::remove_all(dir_);
  }
  void StartCoordinator(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {MINION_CLI,     "coordinator", "--listen",   "127.0.0.1:0",
                                     "--log-format", "json",        "--exporter", "file"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    coordinator_ = std::make_unique<ChildProcess>(
        argv,
        std::map<std::string, std::string>{
            {"MINION_LLM_PROVIDER", "offline"},
            {"MINION_FILE_EXPORTER_PATH", (dir_ / "spans.jsonl").string()},
            {"OTEL_BSP_SCHEDULE_DELAY", "100"}},
        (dir_ / "stderr").string());
    const std::string line = coordinator_->ReadLine(std::chrono::seconds(60));
    const std::string prefix = "minion coordinator listening on http://";
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << "got: '" << line << "'\nstderr:\n"
                                         << Slurp(dir_ / "stderr");
    base_ = "http://" + line.substr(prefix.size());
    port_ = std::stoi(line.substr(line.rfind(':') + 1));
  }
  ClientResponse Post(const std::string& path, const std::string& body,
                      std::vector<std::string> headers = {}) {
    headers.push_back("Content-Type: application/json");
    return HttpCall("POST", base_ + path, body, headers);
  }

  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> coordinator_;
  std::string base_;
  int port_ = 0;
};

TEST_F(CoordinatorServiceTest, TasksWithAndWithoutWaitHealthAndTraceContinuation) {
  StartCoordinator();
  EXPECT_EQ(HttpCall("GET", base_ + "/healthz").status, 200);
  auto ready = HttpCall("GET", base_ + "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(json::parse(ready.body)["health"], "healthy");

  // With wait and a caller's traceparent.
  const std::string caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  auto r =
      Post("/v1/tasks?wait=true",
           R"({"name":"Generate REST API","type":"code_generation","priority":8})",
           {"traceparent: 00-" + caller_trace + "-00f067aa0ba902b7-01", "User-Agent: curl/7.88"});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["status"], "succeeded");
  EXPECT_EQ(j["trace_id"], caller_trace);
  EXPECT_EQ(j["subtasks"][0]["worker_id"], "coder-1");
  ASSERT_TRUE(r.headers.count("traceparent"));
  EXPECT_EQ(r.headers["traceparent"].substr(3, 32), caller_trace);
  const std::string waited_id = j["id"];

  // Without wait: 202, then GET (waiting on the server side, not by polling).
  auto accepted =
      Post("/v1/tasks", R"({"name":"Summarise","type":"summarization","input":"some text"})");
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  const std::string id = json::parse(accepted.body)["id"];
  EXPECT_EQ(accepted.headers["location"], "/v1/tasks/" + id);
  EXPECT_EQ(accepted.headers["traceparent"].size(), 55u);
  auto got = HttpCall("GET", base_ + "/v1/tasks/" + id + "?wait=true&timeout_ms=30000");
  ASSERT_EQ(got.status, 200) << got.body;
  j = json::parse(got.body);
  EXPECT_EQ(j["status"], "succeeded") << got.body;
  EXPECT_EQ(j["task_id"], id);
  EXPECT_EQ(j["subtasks"].size(), 1u);
  EXPECT_EQ(got.headers["traceparent"], accepted.headers["traceparent"]);

  auto metrics = HttpCall("GET", base_ + "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.headers["content-type"].find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.body.find("minion_multiagent_tasks_total{status=\"succeeded\"} 2"),
            std::string::npos)
      << metrics.body;

  // Stop: the exported spans show the SERVER span as a child of the caller's span.
  EXPECT_EQ(WEXITSTATUS(coordinator_->Stop(SIGTERM)), 0) << Slurp(dir_ / "stderr");
  const std::string spans = Slurp(dir_ / "spans.jsonl");
  bool server_span = false;
  std::istringstream lines(spans);
  std::string line;
  while (std::getline(lines, line)) {
    const json batch = json::parse(line);
    for (const auto& rs : batch["resourceSpans"]) {
      for (const auto& ss : rs["scopeSpans"]) {
        for (const auto& s : ss["spans"]) {
          if (s["name"] != "POST /v1/tasks" || s["traceId"] != caller_trace) continue;
          server_span = true;
          EXPECT_EQ(s["parentSpanId"], "00f067aa0ba902b7");
          EXPECT_EQ(s["kind"], 2);  // SERVER
          std::map<std::string, json> attrs;
          for (const auto& a : s["attributes"]) attrs[a["key"]] = a["value"];
          EXPECT_EQ(attrs["http.request.method"]["stringValue"], "POST");
          EXPECT_EQ(attrs["http.route"]["stringValue"], "/v1/tasks");
          EXPECT_EQ(attrs["http.response.status_code"]["intValue"], "200");
          EXPECT_EQ(attrs["user_agent.original"]["stringValue"], "curl/7.88");
          EXPECT_EQ(attrs["multiagent.task.id"]["stringValue"], waited_id);
        }
      }
    }
  }
  EXPECT_TRUE(server_span) << spans.substr(0, 2000);
  // Every log line is JSON; lines inside tasks carry the trace of their task.
  std::istringstream log(Slurp(dir_ / "stderr"));
  int in_caller_trace = 0;
  while (std::getline(log, line)) {
    json l;
    ASSERT_NO_THROW(l = json::parse(line)) << line;
    if (l.value("task_id", "") == waited_id) {
      EXPECT_EQ(l["trace_id"], caller_trace) << line;
      ++in_caller_trace;
    }
  }
  EXPECT_GE(in_caller_trace, 1);
}

TEST_F(CoordinatorServiceTest, MalformedRequestsGetA4xxSayingWhatIsWrong) {
  StartCoordinator({"--max-body-kib", "4"});
  struct Case {
    std::string body;
    long status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", 400, "request body is empty"},
      {"{\"name\": ", 400, "not valid JSON"},
      {"[1,2]", 400, "must be a JSON object, got array"},
      {R"({"type":"code_generation"})", 400, "missing field 'name'"},
      {R"({"name":"x"})", 400, "missing field 'type'"},
      {R"({"name":7,"type":"code_generation"})", 400, "field 'name' must be a string"},
      {R"({"name":"x","type":"code_generation","priority":11})", 400,
       "'priority' must be from 1 to 10, got 11"},
      {R"({"name":"x","type":"code_generation","priority":"high"})", 400,
       "'priority' must be an integer"},
      {R"({"name":"x","type":"code_generation","colour":"red"})", 400, "unknown field 'colour'"},
      {R"({"name":"x","type":"teleportation"})", 400,
       "unknown task type 'teleportation'; the live capabilities are: code_generation"},
      {std::string(100, '[') + std::string(100, ']'), 400, "nests deeper than 64 levels"},
      {std::string("{\"name\":\"\xff\xfe\",\"type\":\"nope\xc3\"}"), 400, "not valid JSON"},
      {"{\"name\":\"x\",\"type\":\"code_generation\",\"input\":\"" + std::string(5000, 'a') + "\"}",
       413, ""},
  };
  for (const auto& c : cases) {
    auto r = Post("/v1/tasks?wait=true", c.body);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 80) << " -> " << r.body;
    if (c.message.empty()) continue;
    json j;
    ASSERT_NO_THROW(j = json::parse(r.body)) << r.body;
    EXPECT_EQ(j["error"]["code"], "invalid_argument");
    EXPECT_NE(j["error"]["message"].get<std::string>().find(c.message), std::string::npos)
        << c.body.substr(0, 80) << " -> " << r.body;
  }
  auto missing = HttpCall("GET", base_ + "/v1/tasks/task-nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["error"]["code"], "not_found");
  EXPECT_EQ(HttpCall("GET", base_ + "/v1/tasks/x?wait=true&timeout_ms=-1").status, 400);
  // Still serving after all that.
  auto ok = Post("/v1/tasks?wait=true", R"({"name":"x","type":"code_generation"})");
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST_F(CoordinatorServiceTest, BearerTokenGuardsEverythingButHealth) {
  StartCoordinator({"--token", "s3cret-token"});
  EXPECT_EQ(HttpCall("GET", base_ + "/healthz").status, 200);
  EXPECT_EQ(HttpCall("GET", base_ + "/readyz").status, 200);
  auto no = Post("/v1/tasks?wait=true", R"({"name":"x","type":"code_generation"})");
  EXPECT_EQ(no.status, 401);
  EXPECT_EQ(no.headers["www-authenticate"], "Bearer");
  EXPECT_EQ(Post("/v1/tasks?wait=true", R"({"name":"x","type":"code_generation"})",
                 {"Authorization: Bearer wrong"})
                .status,
            401);
  EXPECT_EQ(HttpCall("GET", base_ + "/metrics").status, 401);
  EXPECT_EQ(Post("/v1/tasks?wait=true", R"({"name":"x","type":"code_generation"})",
                 {"Authorization: Bearer s3cret-token"})
                .status,
            200);
  coordinator_->Stop(SIGTERM);
  EXPECT_EQ(Slurp(dir_ / "stderr").find("s3cret-token"), std::string::npos)
      << "the token was logged";
}

TEST_F(CoordinatorServiceTest,
       FiveHundredTasksFromEightClientsAreAllAnsweredAndScrapedByPrometheus) {
  StartCoordinator({"--api-workers", "8"});

  // A real Prometheus scraping the coordinator every second.
  const int prom_port = FreePort();
  std::ofstream(dir_ / "prometheus.yml")
      << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      << "scrape_configs:\n  - job_name: minion\n    static_configs:\n"
      << "      - targets: ['127.0.0.1:" << port_ << "']\n";
  ChildProcess prometheus({"prometheus", "--config.file=" + (dir_ / "prometheus.yml").string(),
                           "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
                           "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                          {}, (dir_ / "prometheus.log").string());
  const std::string prom = "http://127.0.0.1:" + std::to_string(prom_port);

  constexpr int kClients = 8, kTasks = 500;
  auto query = [&](const std::string& promql) -> json {
    char* escaped = curl_easy_escape(nullptr, promql.c_str(), static_cast<int>(promql.size()));
    auto r = HttpCall("GET", prom + "/api/v1/query?query=" + escaped);
    curl_free(escaped);
    if (r.status != 200) return json();
    return json::parse(r.body);
  };
  auto scalar = [&](const json& j) -> double {
    if (!j.is_object() || j["status"] != "success" || j["data"]["result"].empty()) return -1;
    return std::stod(j["data"]["result"][0]["value"][1].get<std::string>());
  };
  // Asks Prometheus until `done` holds (it scrapes every second; bounded).
  auto await_prometheus = [&](const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      // An external process's scrape schedule: nothing of ours to wait on.
      ::poll(nullptr, 0, 250);
    }
    return false;
  };
  const std::string succeeded = "sum(minion_multiagent_tasks_total{status=\"succeeded\"})";
  // Prometheus has the target before any task runs, so the counters start at zero in its data.
  ASSERT_TRUE(await_prometheus([&] { return scalar(query(succeeded)) == 0; }))
      << Slurp(dir_ / "prometheus.log").substr(0, 3000);

  std::atomic<int> ok{0};
  std::mutex ids_mu;
  std::set<std::string> ids;
  // Two halves with a scrape between them, so rate() and the histogram see an increase.
  for (int half = 0; half < 2; ++half) {
    std::atomic<int> next{half * kTasks / 2};
    const int end = (half + 1) * kTasks / 2;
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&] {
        for (int i = next++; i < end; i = next++) {
          // Half wait, half are accepted and then awaited with GET ?wait=true.
          ClientResponse r =
              i % 2 ? Post("/v1/tasks?wait=true", R"({"name":"t","type":"code_generation"})")
                    : Post("/v1/tasks", R"({"name":"t","type":"research"})");
          std::string id;
          if (r.status == 200 || r.status == 202) id = json::parse(r.body)["id"];
          if (r.status == 202)
            r = HttpCall("GET", base_ + "/v1/tasks/" + id + "?wait=true&timeout_ms=60000");
          if (r.status == 200 && json::parse(r.body)["status"] == "succeeded") ++ok;
          std::lock_guard<std::mutex> lock(ids_mu);
          ids.insert(id);
        }
      });
    }
    for (auto& t : clients) t.join();
    ASSERT_TRUE(await_prometheus([&] { return scalar(query(succeeded)) == end; }))
        << "half " << half;
  }
  EXPECT_EQ(ok.load(), kTasks);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(ids.count(""), 0u);

  double total = scalar(query(succeeded)), rate = -1, p90 = -1;
  await_prometheus([&] {
    rate = scalar(query("sum(rate(minion_multiagent_tasks_total{status=\"succeeded\"}[1m]))"));
    p90 =
        scalar(query("histogram_quantile(0.9, sum by (le) "
                     "(rate(minion_multiagent_task_duration_seconds_bucket[1m])))"));
    return rate > 0 && p90 > 0;
  });
  EXPECT_EQ(total, kTasks) << Slurp(dir_ / "prometheus.log").substr(0, 3000);
  EXPECT_GT(rate, 0);
  // The tasks took milliseconds: the 90th percentile lies inside the histogram's range.
  EXPECT_GT(p90, 0);
  EXPECT_LT(p90, 60);
  auto by_type = query("sum by (type) (minion_multiagent_task_duration_seconds_count)");
  ASSERT_TRUE(by_type.is_object());
  std::map<std::string, double> counts;
  for (const auto& r : by_type["data"]["result"])
    counts[r["metric"]["type"]] = std::stod(r["value"][1].get<std::string>());
  EXPECT_EQ(counts["code_generation"], kTasks / 2);
  EXPECT_EQ(counts["research"], kTasks / 2);
  prometheus.Stop(SIGTERM);
}

}  // namespace
}  // namespace minion
