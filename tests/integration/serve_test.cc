// `minion serve` as users run it: a real server process, traces made by real `minion run`
// processes exporting over OTLP/HTTP (protobuf via --ui, JSON), OTLP/gRPC and the file exporter,
// the seed's example queries over HTTP, v3 answers decoded by OpenTelemetry's own JS code,
// and a kill -9 followed by a restart.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli_process.h"
#include "transports/redis/redis_server.h"

extern char** environ;

namespace minion {
namespace {

// Spans of one offline `minion run --type code_generation`: task, plan, dispatch, send,
// receive, worker, and under the worker the coder's tool loop (docs/tools.md): three llm.*
// calls, tool.write_file, tool.storage_insert and the storage.insert under it. Other task
// types answer in one model call: 7 spans.
constexpr std::size_t kCodeGenerationSpans = 12;

using nlohmann::json;

// A child process with its stdout on a pipe (stderr inherited, so failures show in the log).
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& env_overrides) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      const std::string kv = *e;
      // The parent's tracing settings must not leak into the children.
      if (kv.rfind("OTEL_", 0) == 0 || kv.rfind("TRACING_", 0) == 0 || kv.rfind("OTLP_", 0) == 0)
        continue;
      env.push_back(kv);
    }
    env.push_back("MINION_LLM_PROVIDER=offline");
    for (const auto& kv : env_overrides) env.push_back(kv);
    std::vector<char*> cargv, cenv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, cargv.data(), cenv.data()), 0)
        << argv[0];
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    fd_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (fd_ >= 0) close(fd_);
  }

  // Next stdout line; nullopt at EOF or after `timeout`.
  std::optional<std::string> ReadLine(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      const ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  std::string ReadAll() {
    std::string all;
    while (auto line = ReadLine(std::chrono::seconds(60))) all += *line + "\n";
    all += buffer_;
    return all;
  }
  void Signal(int sig) { kill(pid_, sig); }
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
};

// `minion serve` on free ports; the addresses come from its start-up lines.
class Serve {
 public:
  Serve(const std::string& db, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        MINION_CLI,    "serve",       "--listen",    "127.0.0.1:0", "--otlp-http",
        "127.0.0.1:0", "--otlp-grpc", "127.0.0.1:0", "--db",        db};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_ = std::make_unique<Child>(argv, std::vector<std::string>{});
    while (auto line = child_->ReadLine()) {
      auto after = [&](const std::string& prefix) { return line->substr(prefix.size()); };
      if (line->rfind("minion serve: query+ui ", 0) == 0) query_ = after("minion serve: query+ui ");
      if (line->rfind("minion serve: otlp-http ", 0) == 0)
        otlp_http_ = after("minion serve: otlp-http ");
      if (line->rfind("minion serve: otlp-grpc ", 0) == 0)
        otlp_grpc_ = after("minion serve: otlp-grpc ");
      if (line->find("Ctrl-C stops") != std::string::npos) break;
    }
    EXPECT_FALSE(query_.empty()) << "minion serve did not print its addresses";
  }
  const std::string& query() const { return query_; }
  const std::string& otlp_http() const { return otlp_http_; }
  const std::string& otlp_grpc() const { return otlp_grpc_; }
  int Stop(int sig) {
    child_->Signal(sig);
    return child_->Wait();
  }
  // Stops the server and returns what it printed from now on.
  std::string StopAndReadRest(int sig) {
    child_->Signal(sig);
    std::string rest = child_->ReadAll();
    child_->Wait();
    return rest;
  }
  // The next stdout line containing `needle` (nullopt after `timeout` or at exit).
  std::optional<std::string> WaitForLine(const std::string& needle, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::seconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto line = child_->ReadLine(left);
      if (!line) return std::nullopt;
      if (line->find(needle) != std::string::npos) return line;
    }
  }

  json Get(const std::string& path, int want_status = 200) {
    httplib::Client c(query_);
    auto r = c.Get(path.c_str());
    EXPECT_TRUE(r) << path;
    if (!r) return json();
    EXPECT_EQ(r->status, want_status) << path << " -> " << r->body.substr(0, 300);
    return json::parse(r->body, nullptr, false);
  }
  std::string GetRaw(const std::string& path) {
    httplib::Client c(query_);
    auto r = c.Get(path.c_str());
    return r ? r->body : std::string();
  }

 private:
  std::unique_ptr<Child> child_;
  std::string query_, otlp_http_, otlp_grpc_;
};

struct RunOutcome {
  int exit = -1;
  std::string trace_id;
  std::string url;  // printed by --ui
};

RunOutcome MinionRun(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::vector<std::string> argv = {MINION_CLI, "run", "--json", "--no-trace-tree"};
  argv.insert(argv.end(), args.begin(), args.end());
  Child child(argv, env);
  std::string out = child.ReadAll();
  RunOutcome r;
  r.exit = child.Wait();
  const auto trace_line = out.find("\nTrace: ");
  if (trace_line != std::string::npos) {
    r.url = out.substr(trace_line + 8);
    r.url = r.url.substr(0, r.url.find('\n'));
    out = out.substr(0, trace_line);
  }
  auto j = json::parse(out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << out;
  if (!j.is_discarded()) r.trace_id = j.value("trace_id", "");
  return r;
}

std::set<std::string> V1TraceIds(const json& answer) {
  std::set<std::string> ids;
  if (!answer.contains("data") || !answer["data"].is_array()) return ids;
  for (const auto& t : answer["data"]) ids.insert(t["traceID"].get<std::string>());
  return ids;
}

std::string Encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '*') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// The v3 answer decoded by @opentelemetry/otlp-transformer
// (tests/interop/node/otlp_json_decode.js).
json DecodeWithOpenTelemetryJs(const std::string& body, const std::string& dir) {
  const std::string file = dir + "/v3.json";
  std::ofstream(file) << body;
  const std::string script =
      std::string(MINION_SOURCE_DIR) + "/tests/interop/node/otlp_json_decode.js";
  Child node({"/usr/bin/env", "node", script, file}, {});
  std::string out = node.ReadAll();
  EXPECT_EQ(node.Wait(), 0) << "otlp_json_decode.js refused our v3 JSON (see stderr above)";
  return json::parse(out, nullptr, false);
}

class ServeTest : public ::testing::Test {
 protected:
  ServeTest() {
    dir_ =
        std::filesystem::temp_directory_path() / ("minion-serve-test-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~ServeTest() override { std::filesystem::remove_all(dir_); }
  std::string File(const std::string& n) const { return (dir_ / n).string(); }
  std::filesystem::path dir_;
};

TEST_F(ServeTest, SeedQueriesOverTracesFromRealMinionRuns) {
  Serve serve(File("t.db"));
  // Four tasks, four ways in: --ui (OTLP/HTTP protobuf), OTLP/HTTP JSON, OTLP/gRPC, and a
  // failing task via --ui.
  RunOutcome a = MinionRun({"--name", "Generate REST API", "--type", "code_generation",
                            "--priority", "8", "--ui", "--ui-url", serve.query()},
                           {});
  RunOutcome b = MinionRun({"--name", "Survey", "--type", "research", "--priority", "3"},
                           {"OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_PROTOCOL=http/json",
                            "OTEL_EXPORTER_OTLP_ENDPOINT=" + serve.otlp_http()});
  RunOutcome c = MinionRun({"--name", "Forecast", "--type", "data_analysis", "--priority", "9"},
                           {"OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
                            "OTEL_EXPORTER_OTLP_ENDPOINT=http://" + serve.otlp_grpc()});
  RunOutcome d = MinionRun({"--name", "Impossible", "--type", "quantum_teleportation", "--priority",
                            "5", "--ui", "--ui-url", serve.query()},
                           {});
  EXPECT_EQ(a.exit, 0);
  EXPECT_EQ(b.exit, 0);
  EXPECT_EQ(c.exit, 0);
  EXPECT_EQ(d.exit, 1);
  EXPECT_EQ(a.url, serve.query() + "/trace/" + a.trace_id);
  for (const auto* r : {&a, &b, &c, &d}) ASSERT_EQ(r->trace_id.size(), 32u);

  const std::string svc = "/api/traces?service=minion-multiagent";
  using Ids = std::set<std::string>;
  // A service and an operation.
  json by_op = serve.Get(svc + "&operation=multiagent.task.code_generation");
  EXPECT_EQ(V1TraceIds(by_op), Ids({a.trace_id}));
  ASSERT_EQ(by_op["data"].size(), 1u);
  EXPECT_EQ(by_op["data"][0]["spans"].size(),
            kCodeGenerationSpans);  // the whole task, not only the matching span
  // An operation pattern.
  EXPECT_EQ(V1TraceIds(serve.Get(svc + "&operation=" + Encode("multiagent.task.*"))),
            Ids({a.trace_id, b.trace_id, c.trace_id, d.trace_id}));
  // minDuration: none of these offline tasks takes 10 s; all take at least 1 ns.
  EXPECT_EQ(V1TraceIds(serve.Get(svc + "&minDuration=10s")), Ids());
  EXPECT_EQ(V1TraceIds(serve.Get(svc + "&minDuration=1ns")).size(), 4u);
  // error=true (Jaeger's JSON form and our expression form).
  EXPECT_EQ(V1TraceIds(serve.Get(svc + "&tags=" + Encode(R"({"error":"true"})"))),
            Ids({d.trace_id}));
  EXPECT_EQ(V1TraceIds(serve.Get(svc + "&tags=" + Encode("error=true"))), Ids({d.trace_id}));
  // A worker id (the built-in workers are coder-1, researcher-1, ...; the seed's worker-789 is
  // a `minion worker` process in WorkerIdAndMinDurationFindARealSlowWorkerProcess).
  EXPECT_EQ(V1TraceIds(serve.Get(svc + "&tags=" + Encode("multiagent.worker.id=coder-1"))),
            Ids({a.trace_id}));
  EXPECT_EQ(V1TraceIds(serve.Get(svc + "&tag=multiagent.worker.id:researcher-1")),
            Ids({b.trace_id}));
  // A numeric comparison, which Jaeger itself cannot answer.
  EXPECT_EQ(V1TraceIds(serve.Get(svc + "&tags=" + Encode("multiagent.task.priority>7"))),
            Ids({a.trace_id, c.trace_id}));
  EXPECT_EQ(V1TraceIds(serve.Get(svc + "&tags=" + Encode(R"({"multiagent.task.priority":">7"})"))),
            Ids({a.trace_id, c.trace_id}));

  // v3: the search and a trace by id, decoded by OpenTelemetry's own generated code.
  const std::string search =
      serve.GetRaw("/api/v3/traces?query.service_name=minion-multiagent&query.attributes=" +
                   Encode("multiagent.task.priority>7"));
  json decoded = DecodeWithOpenTelemetryJs(search, dir_.string());
  Ids seen;
  for (const auto& s : decoded["spans"]) seen.insert(s["traceId"].get<std::string>());
  EXPECT_EQ(seen, Ids({a.trace_id, c.trace_id}));

  json one = DecodeWithOpenTelemetryJs(serve.GetRaw("/api/v3/traces/" + a.trace_id), dir_.string());
  ASSERT_EQ(one["spans"].size(), kCodeGenerationSpans);
  std::map<std::string, json> by_id;
  for (const auto& s : one["spans"]) by_id[s["spanId"]] = s;
  int roots = 0;
  for (const auto& s : one["spans"]) {
    EXPECT_EQ(s["traceId"], a.trace_id);
    EXPECT_EQ(s["service"], "minion-multiagent");
    if (s["parentSpanId"] == "") {
      ++roots;
      EXPECT_EQ(s["name"], "multiagent.task.code_generation");
      EXPECT_EQ(s["attributes"]["multiagent.task.priority"], 8);
    } else {
      EXPECT_TRUE(by_id.count(s["parentSpanId"])) << "parent of " << s["name"] << " missing";
    }
    if (s["name"] == "worker.code_generation") {
      EXPECT_EQ(s["kind"], 5);  // CONSUMER
      EXPECT_EQ(s["attributes"]["multiagent.worker.id"], "coder-1");
    }
  }
  EXPECT_EQ(roots, 1);

  // Services and operations, both APIs.
  EXPECT_EQ(serve.Get("/api/v3/services")["services"], json({"minion-multiagent"}));
  EXPECT_EQ(serve.Get("/api/services")["data"], json({"minion-multiagent"}));
  EXPECT_EQ(serve.Stop(SIGTERM), 0);
}

TEST_F(ServeTest, KillNineThenRestartServesEverythingCommitted) {
  std::string trace_id;
  {
    Serve serve(File("t.db"));
    RunOutcome a = MinionRun(
        {"--name", "Before crash", "--type", "code_generation", "--ui", "--ui-url", serve.query()},
        {});
    ASSERT_EQ(a.exit, 0);
    trace_id = a.trace_id;
    // The run returns after its export was answered 200, i.e. after the commit.
    EXPECT_EQ(serve.Get("/api/traces/" + trace_id)["data"][0]["spans"].size(),
              kCodeGenerationSpans);
    EXPECT_EQ(serve.Stop(SIGKILL), 128 + SIGKILL);
  }
  Serve again(File("t.db"));
  json after = again.Get("/api/traces/" + trace_id);
  ASSERT_EQ(after["data"].size(), 1u);
  EXPECT_EQ(after["data"][0]["spans"].size(), kCodeGenerationSpans);
  RunOutcome b = MinionRun(
      {"--name", "After crash", "--type", "research", "--ui", "--ui-url", again.query()}, {});
  EXPECT_EQ(b.exit, 0);
  EXPECT_EQ(V1TraceIds(again.Get("/api/traces?service=minion-multiagent")).size(), 2u);
  EXPECT_EQ(again.Stop(SIGTERM), 0);
}

TEST_F(ServeTest, ImportLoadsTheFileExportersJsonLines) {
  RunOutcome a =
      MinionRun({"--name", "Offline", "--type", "content_creation"},
                {"OTEL_TRACES_EXPORTER=file", "MINION_FILE_EXPORTER_PATH=" + File("spans.jsonl")});
  ASSERT_EQ(a.exit, 0);
  std::ofstream(File("spans.jsonl"), std::ios::app)
      << "{not json\n";  // one bad line is reported, not fatal
  Serve serve(File("t.db"), {"--import", File("spans.jsonl")});
  json t = serve.Get("/api/traces/" + a.trace_id);
  ASSERT_EQ(t["data"].size(), 1u);
  EXPECT_EQ(t["data"][0]["spans"].size(), 7u);
  EXPECT_EQ(serve.Stop(SIGTERM), 0);
}

// Overload with real processes: four `minion run` processes export at once (OTLP/HTTP protobuf,
// HTTP JSON and gRPC) into a `minion serve` whose ingest queue holds one request, while this
// test holds SQLite's write lock on the database (as a backup or a slow disk would), so the
// writer is stalled. The server answers 429 / RESOURCE_EXHAUSTED with Retry-After (it logs the
// refusals), the exporters retry, and once the lock is released every span of every run is
// stored: nothing is lost without being counted.
TEST_F(ServeTest, OverloadAnswersRetryableAndTheExportersDeliverEverySpan) {
  Serve serve(File("t.db"), {"--max-queued-spans", "1"});
  sqlite3* lock = nullptr;
  ASSERT_EQ(sqlite3_open(File("t.db").c_str(), &lock), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(lock, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(lock);
  const std::vector<std::vector<std::string>> envs = {
      {},
      {},
      {"OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_PROTOCOL=http/json",
       "OTEL_EXPORTER_OTLP_ENDPOINT=" + serve.otlp_http()},
      {"OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
       "OTEL_EXPORTER_OTLP_ENDPOINT=http://" + serve.otlp_grpc()}};
  std::vector<std::future<RunOutcome>> runs;
  for (std::size_t i = 0; i < envs.size(); ++i) {
    std::vector<std::string> args = {"--name", "Overload " + std::to_string(i), "--type",
                                     "code_generation"};
    if (envs[i].empty()) args.insert(args.end(), {"--ui", "--ui-url", serve.query()});
    runs.push_back(std::async(std::launch::async, MinionRun, args, envs[i]));
  }
  // One export is admitted and waits for the stalled writer; the next ones are refused.
  auto refused = serve.WaitForLine("ingest queue full", std::chrono::seconds(60));
  EXPECT_TRUE(refused.has_value()) << "the server never refused a request";
  ASSERT_EQ(sqlite3_exec(lock, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(lock);

  std::set<std::string> ids;
  for (auto& f : runs) {
    RunOutcome r = f.get();
    EXPECT_EQ(r.exit, 0);
    ASSERT_EQ(r.trace_id.size(), 32u);
    ids.insert(r.trace_id);
    json t = serve.Get("/api/traces/" + r.trace_id);
    ASSERT_EQ(t["data"].size(), 1u) << r.trace_id;
    EXPECT_EQ(t["data"][0]["spans"].size(), kCodeGenerationSpans)
        << r.trace_id;  // every span of the run
  }
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_EQ(V1TraceIds(serve.Get("/api/traces?service=minion-multiagent&limit=100")), ids);
  const std::string summary = serve.StopAndReadRest(SIGTERM);
  EXPECT_NE(summary.find("stored " + std::to_string(4 * kCodeGenerationSpans) + " spans"),
            std::string::npos)
      << summary;
  // The stop line's count ("... requests, refused N requests (queue full) ..."), not the
  // overload line's "request(s) refused so far", which may also be in what was read.
  const std::string marker = "requests, refused ";
  const auto at = summary.find(marker);
  ASSERT_NE(at, std::string::npos) << summary;
  EXPECT_GE(std::atoi(summary.c_str() + at + marker.size()), 1) << summary;
}

// The seed's `multiagent.worker.id=worker-789` and `minDuration: 10s` over traces a real run
// made: a `minion worker` process named worker-789, reached over a real redis-server, whose
// subtask command takes 10 s; both processes export to `minion serve`.
TEST_F(ServeTest, WorkerIdAndMinDurationFindARealSlowWorkerProcess) {
  auto redis = minion::testing::RedisServer::Start();
  ASSERT_NE(redis, nullptr) << "redis-server could not be started";
  Serve serve(File("t.db"));
  minion::testing::CliProcess worker(
      {MINION_CLI, "worker", "--transport", redis->Url(), "--capability", "slow_analysis", "--name",
       "worker-789", "--exec", "sleep 10.2; cat"},
      {{"MINION_LLM_PROVIDER", "offline"},
       {"OTEL_TRACES_EXPORTER", "otlp"},
       {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"},
       {"OTEL_EXPORTER_OTLP_ENDPOINT", serve.otlp_http()}});
  ASSERT_TRUE(worker.WaitForErr("serving", std::chrono::seconds(30)));
  RunOutcome fast =
      MinionRun({"--name", "Quick", "--type", "research", "--ui", "--ui-url", serve.query()}, {});
  RunOutcome slow = MinionRun({"--transport", redis->Url(), "--name", "Slow analysis", "--type",
                               "slow_analysis", "--ui", "--ui-url", serve.query()},
                              {});
  ASSERT_EQ(fast.exit, 0);
  ASSERT_EQ(slow.exit, 0);
  // The worker exports its spans as it stops (SIGTERM drains and flushes).
  worker.Signal(SIGTERM);
  const auto w = worker.Wait();
  EXPECT_EQ(w.exit_code, 0) << w.err;

  using Ids = std::set<std::string>;
  EXPECT_EQ(V1TraceIds(serve.Get("/api/traces?service=minion-worker&tags=" +
                                 Encode("multiagent.worker.id=worker-789"))),
            Ids({slow.trace_id}));
  EXPECT_EQ(V1TraceIds(serve.Get("/api/traces?service=minion-worker&tags=" +
                                 Encode(R"({"multiagent.worker.id":"worker-789"})"))),
            Ids({slow.trace_id}));
  for (const char* svc : {"minion-multiagent", "minion-worker"}) {
    EXPECT_EQ(V1TraceIds(serve.Get(std::string("/api/traces?service=") + svc + "&minDuration=10s")),
              Ids({slow.trace_id}))
        << svc;
  }
  EXPECT_EQ(V1TraceIds(serve.Get("/api/traces?service=minion-multiagent&minDuration=1ns")),
            Ids({fast.trace_id, slow.trace_id}));
  // v3 with both conditions on the worker's span; the answer is the whole trace, both processes.
  json v3 = serve.Get(
      "/api/v3/traces?query.service_name=minion-worker&query.duration_min=10s"
      "&query.attributes=" +
      Encode("multiagent.worker.id=worker-789"));
  std::set<std::string> services;
  for (const auto& rs : v3["result"]["resourceSpans"])
    for (const auto& kv : rs["resource"]["attributes"])
      if (kv["key"] == "service.name")
        services.insert(kv["value"]["stringValue"].get<std::string>());
  EXPECT_EQ(services, (std::set<std::string>{"minion-multiagent", "minion-worker"}));
  EXPECT_EQ(serve.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace minion
