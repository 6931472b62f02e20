// minion across processes over a real redis-server: `minion worker` processes, a coordinator in
// this process, spans from every process collected through the file exporter (OTLP/JSON lines)
// and assembled into traces.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "minion/agents/coordinator.h"
#include "minion/transports/redis_streams_protocol.h"
#include "support/tracing_rig.h"
#include "transports/redis/redis_connection.h"
#include "transports/redis/redis_server.h"

extern char** environ;

namespace minion::transports {
namespace {

using minion::testing::RedisServer;
using minion::testing::TracingRig;

constexpr const char* kCapability = "code_generation";

// A child process with its stdout/stderr in files; killed (SIGKILL) if still running at the end.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
        const std::string& log) {
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e) envs.push_back(*e);
    for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    std::vector<std::string> a = args;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : envs) envp.push_back(s.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void Signal(int sig) { kill(pid_, sig); }
  // The exit status (or 128 + signal).
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
};

struct FileSpan {
  std::string trace_id, span_id, parent_span_id, name;
  std::int64_t pid = 0;
  std::map<std::string, std::string> attributes;
  int status_code = 0;  // OTLP: 0 unset, 1 ok, 2 error
  std::string status_message;
  std::uint64_t start_ns = 0, end_ns = 0;
};

std::uint64_t Nanos(const nlohmann::json& v) {
  if (v.is_string()) return std::stoull(v.get<std::string>());
  return v.is_number() ? v.get<std::uint64_t>() : 0;
}

std::string AttrValue(const nlohmann::json& v) {
  if (v.contains("stringValue")) return v["stringValue"].get<std::string>();
  if (v.contains("intValue"))
    return v["intValue"].is_string() ? v["intValue"].get<std::string>() : v["intValue"].dump();
  if (v.contains("boolValue")) return v["boolValue"].dump();
  return v.dump();
}

// Reads the OTLP/JSON lines a worker process's file exporter wrote.
std::vector<FileSpan> ReadSpans(const std::string& path) {
  std::vector<FileSpan> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    for (const auto& rs : j.value("resourceSpans", nlohmann::json::array())) {
      std::int64_t pid = 0;
      for (const auto& a : rs["resource"].value("attributes", nlohmann::json::array())) {
        if (a["key"] == "process.pid") pid = std::stoll(AttrValue(a["value"]));
      }
      for (const auto& ss : rs.value("scopeSpans", nlohmann::json::array())) {
        for (const auto& s : ss.value("spans", nlohmann::json::array())) {
          FileSpan f;
          f.trace_id = s.value("traceId", "");
          f.span_id = s.value("spanId", "");
          f.parent_span_id = s.value("parentSpanId", "");
          f.name = s.value("name", "");
          f.pid = pid;
          if (auto st = s.find("status"); st != s.end() && st->is_object()) {
            f.status_code = st->value("code", 0);
            f.status_message = st->value("message", "");
          }
          if (s.contains("startTimeUnixNano")) f.start_ns = Nanos(s["startTimeUnixNano"]);
          if (s.contains("endTimeUnixNano")) f.end_ns = Nanos(s["endTimeUnixNano"]);
          for (const auto& a : s.value("attributes", nlohmann::json::array())) {
            f.attributes[a["key"].get<std::string>()] = AttrValue(a["value"]);
          }
          out.push_back(std::move(f));
        }
      }
    }
  }
  return out;
}

class DistributedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = RedisServer::Start();
    ASSERT_NE(server_, nullptr);
    dir_ = server_->dir();
  }

  std::unique_ptr<Child> StartWorker(const std::string& name, const std::string& exec = "",
                                     const std::string& url = "") {
    std::vector<std::string> args = {MINION_CLI,
                                     "worker",
                                     "--transport",
                                     url.empty() ? server_->Url() : url,
                                     "--capability",
                                     kCapability,
                                     "--name",
                                     name,
                                     "--concurrency",
                                     "4",
                                     "--reclaim-idle-ms",
                                     "1000",
                                     "--max-deliveries",
                                     "3",
                                     "--exporter",
                                     "file"};
    if (exec.empty()) {
      args.insert(args.end(), {"--kind", "coder"});
    } else {
      args.insert(args.end(), {"--exec", exec});
    }
    return std::make_unique<Child>(args,
                                   std::map<std::string, std::string>{
                                       {"MINION_FILE_EXPORTER_PATH", dir_ + "/" + name + ".jsonl"},
                                       {"OTEL_BSP_SCHEDULE_DELAY", "200"}},
                                   dir_ + "/" + name + ".log");
  }

  std::unique_ptr<RedisStreamsProtocol> Connect(std::shared_ptr<trace::Tracer> tracer) {
    RedisStreamsOptions o;
    o.endpoint = RedisEndpoint::Parse(server_->Url()).value();
    o.reclaim_idle = std::chrono::milliseconds(1000);
    o.block = std::chrono::milliseconds(100);
    o.tracer = std::move(tracer);
    auto p = RedisStreamsProtocol::Connect(o);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  // Waiting for other processes to register: no event crosses, so poll with a deadline.
  bool WaitForWorkers(RedisStreamsProtocol& p, std::size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      auto w = p.ListWorkers();
      if (w.ok() && w->size() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::unique_ptr<agents::Coordinator> MakeCoordinator(std::shared_ptr<agents::Protocol> protocol,
                                                       std::shared_ptr<trace::Tracer> tracer,
                                                       std::chrono::milliseconds subtask_timeout,
                                                       int max_attempts = 5) {
    agents::CoordinatorOptions o;
    o.id = "coord-" + std::to_string(getpid());
    o.protocol = std::move(protocol);
    o.tracer = std::move(tracer);
    o.orchestrator.subtask_timeout = subtask_timeout;
    o.orchestrator.retry.max_attempts = max_attempts;
    o.orchestrator.retry.initial_backoff = std::chrono::milliseconds(100);
    auto c = agents::Coordinator::Create(std::move(o));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    agents::WorkerMetadata remote;
    remote.agent_id = RedisStreamsProtocol::CapabilityAgentId(kCapability);
    remote.role = "remote";
    remote.capabilities = {kCapability};
    EXPECT_TRUE((*c)->registry().Add(remote).ok());
    return std::move(c).value();
  }

  std::string Log(const std::string& name) {
    std::ifstream in(dir_ + "/" + name + ".log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  bool WaitForFile(const std::string& path) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::filesystem::exists(path)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::unique_ptr<RedisServer> server_;
  std::string dir_;
};

TEST_F(DistributedTest, TwoHundredTasksOverTwoWorkerProcessesEachOneWholeTrace) {
  auto w1 = StartWorker("w1");
  auto w2 = StartWorker("w2");
  TracingRig traces;
  auto protocol = std::shared_ptr<RedisStreamsProtocol>(Connect(traces.tracer));
  ASSERT_TRUE(WaitForWorkers(*protocol, 2)) << Log("w1") << Log("w2");
  auto coordinator = MakeCoordinator(protocol, traces.tracer, std::chrono::seconds(30));
  constexpr int kTasks = 200;
  std::vector<agents::TaskResult> results(kTasks);
  std::vector<std::thread> threads;
  std::atomic<int> next{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i; (i = next++) < kTasks;) {
        agents::TaskRequest r;
        r.name = "task " + std::to_string(i);
        r.type = kCapability;
        results[i] = coordinator->ExecuteTask(r);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kTasks; ++i)
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status.ToString();
  ASSERT_TRUE(coordinator->Shutdown().ok());
  ASSERT_TRUE(protocol->Shutdown().ok());
  // SIGTERM: each worker finishes, flushes its spans and exits 0.
  w1->Signal(SIGTERM);
  w2->Signal(SIGTERM);
  EXPECT_EQ(w1->Wait(), 0) << Log("w1");
  EXPECT_EQ(w2->Wait(), 0) << Log("w2");

  const auto local = traces.Spans();
  std::map<std::string, std::string> send_trace;  // send span id -> trace id (this process)
  for (const auto& s : local) {
    if (s.name == "protocol.send") send_trace[s.span_id.ToHex()] = s.trace_id.ToHex();
  }
  std::set<std::int64_t> pids = {getpid()};
  std::map<std::string, int> worker_spans_per_trace;
  std::map<std::string, int> per_worker;
  for (const char* name : {"w1", "w2"}) {
    for (const auto& s : ReadSpans(dir_ + "/" + name + ".jsonl")) {
      pids.insert(s.pid);
      if (s.name != std::string("worker.") + kCapability) continue;
      per_worker[name]++;
      auto parent = send_trace.find(s.parent_span_id);
      ASSERT_NE(parent, send_trace.end())
          << "worker span " << s.span_id << " has no send span parent";
      EXPECT_EQ(parent->second, s.trace_id);
      EXPECT_EQ(s.attributes.at("messaging.system"), "redis");
      EXPECT_EQ(s.attributes.at("messaging.operation.type"), "process");
      EXPECT_EQ(s.attributes.at("messaging.consumer.group.name"), "minion");
      worker_spans_per_trace[s.trace_id]++;
    }
  }
  EXPECT_EQ(pids.size(), 3u) << "spans from the coordinator and both worker processes";
  EXPECT_EQ(per_worker.size(), 2u) << "both workers took subtasks";
  for (const auto& r : results) {
    EXPECT_EQ(worker_spans_per_trace[r.trace_id], 1) << "trace " << r.trace_id;
  }
}

TEST_F(DistributedTest, KilledWorkerMidSubtaskIsReclaimedByTheOtherAndTheTaskCompletes) {
  // w1 blocks inside its subtask (after saying so) until killed.
  const std::string started = dir_ + "/w1-started";
  auto w1 = StartWorker("w1", "cat >/dev/null; touch " + started + "; exec sleep 600");
  TracingRig traces;
  auto protocol = std::shared_ptr<RedisStreamsProtocol>(Connect(traces.tracer));
  ASSERT_TRUE(WaitForWorkers(*protocol, 1)) << Log("w1");
  auto coordinator = MakeCoordinator(protocol, traces.tracer, std::chrono::seconds(30));
  auto result = std::async(std::launch::async, [&] {
    agents::TaskRequest r;
    r.name = "survives a dead worker";
    r.type = kCapability;
    return coordinator->ExecuteTask(r);
  });
  ASSERT_TRUE(WaitForFile(started)) << Log("w1");
  auto w2 = StartWorker("w2", "cat");
  w1->Signal(SIGKILL);
  EXPECT_EQ(w1->Wait(), 128 + SIGKILL);
  auto r = result.get();
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  ASSERT_EQ(r.subtasks.size(), 1u);
  EXPECT_EQ(r.subtasks[0].attempts, 1) << "a redelivery, not an orchestrator retry";
  ASSERT_TRUE(coordinator->Shutdown().ok());
  ASSERT_TRUE(protocol->Shutdown().ok());
  w2->Signal(SIGTERM);
  EXPECT_EQ(w2->Wait(), 0) << Log("w2");
  // Both attempts are in the trace as worker spans with the same parent (the coordinator's
  // send span): w2's own, and w1's lost one, recorded by w2 when it reclaimed the entry (w1
  // was killed before it could end its span).
  auto spans = ReadSpans(dir_ + "/w2.jsonl");
  std::vector<FileSpan> attempts;
  for (const auto& s : spans) {
    if (s.name == std::string("worker.") + kCapability && s.trace_id == r.trace_id)
      attempts.push_back(s);
  }
  ASSERT_EQ(attempts.size(), 2u) << "the surviving attempt and the lost one";
  std::sort(attempts.begin(), attempts.end(),
            [](const auto& a, const auto& b) { return a.start_ns < b.start_ns; });
  const FileSpan& lost = attempts[0];
  const FileSpan& done = attempts[1];
  EXPECT_EQ(lost.parent_span_id, done.parent_span_id) << "both are deliveries of one send";
  std::set<std::string> send_spans;
  for (const auto& s : traces.Spans()) {
    if (s.name == "protocol.send") send_spans.insert(s.span_id.ToHex());
  }
  EXPECT_TRUE(send_spans.count(lost.parent_span_id)) << "parented by the coordinator's send span";
  EXPECT_EQ(lost.attributes.at("multiagent.worker.id"), "w1");
  EXPECT_EQ(lost.attributes.at("messaging.redis.message.delivery_count"), "1");
  EXPECT_NE(lost.attributes.at("messaging.client.id").find("/w1"), std::string::npos);
  EXPECT_EQ(lost.attributes.at("messaging.message.id"), done.attributes.at("messaging.message.id"));
  EXPECT_EQ(lost.status_code, 2) << "ERROR";
  EXPECT_NE(lost.status_message.find("worker died / delivery reclaimed"), std::string::npos)
      << lost.status_message;
  EXPECT_LE(lost.end_ns, done.start_ns) << "the lost attempt ends when w2 takes the entry over";
  EXPECT_EQ(done.attributes.at("multiagent.worker.id"), "w2");
  EXPECT_EQ(done.attributes.at("messaging.redis.message.delivery_count"), "2");
  EXPECT_NE(done.status_code, 2);
  // The coordinator's dispatch span shows the redelivery and who finished it.
  int events = 0;
  for (const auto& s : traces.Spans()) {
    if (s.name != "orchestrator.dispatch") continue;
    for (const auto& e : s.events) {
      if (e.name == "redelivered") ++events;
    }
  }
  EXPECT_EQ(events, 1);
}

TEST_F(DistributedTest, TimeoutCancelReachesTheHandlerInTheWorkerProcess) {
  const std::string started = dir_ + "/w1-started";
  auto w1 = StartWorker("w1", "cat >/dev/null; touch " + started + "; exec sleep 600");
  TracingRig traces;
  auto protocol = std::shared_ptr<RedisStreamsProtocol>(Connect(traces.tracer));
  ASSERT_TRUE(WaitForWorkers(*protocol, 1)) << Log("w1");
  auto coordinator = MakeCoordinator(protocol, traces.tracer, std::chrono::milliseconds(1500), 1);
  agents::TaskRequest r;
  r.name = "too slow";
  r.type = kCapability;
  auto result = coordinator->ExecuteTask(r);
  EXPECT_EQ(result.status.code(), StatusCode::kDeadlineExceeded) << result.status.ToString();
  ASSERT_TRUE(coordinator->Shutdown().ok());
  ASSERT_TRUE(protocol->Shutdown().ok());
  // Had the cancel not reached it, the worker would now wait for `sleep 600` before exiting.
  w1->Signal(SIGTERM);
  EXPECT_EQ(w1->Wait(), 0) << Log("w1");
  int cancelled = 0;
  for (const auto& s : ReadSpans(dir_ + "/w1.jsonl")) {
    if (s.name == std::string("worker.") + kCapability && s.trace_id == result.trace_id)
      ++cancelled;
  }
  EXPECT_EQ(cancelled, 1) << "the cancelled attempt's worker span was exported";
}

TEST_F(DistributedTest, TasksInFlightCompleteAfterRedisRestartsWithTheSameAof) {
  auto w1 = StartWorker("w1");
  auto w2 = StartWorker("w2");
  TracingRig traces;
  auto protocol = std::shared_ptr<RedisStreamsProtocol>(Connect(traces.tracer));
  ASSERT_TRUE(WaitForWorkers(*protocol, 2));
  auto coordinator = MakeCoordinator(protocol, traces.tracer, std::chrono::seconds(5));
  constexpr int kTasks = 40;
  std::vector<agents::TaskResult> results(kTasks);
  std::atomic<int> next{0};
  std::promise<void> half;
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i; (i = next++) < kTasks;) {
        agents::TaskRequest r;
        r.name = "task " + std::to_string(i);
        r.type = kCapability;
        results[i] = coordinator->ExecuteTask(r);
        if (++done == kTasks / 4) half.set_value();
      }
    });
  }
  half.get_future().wait();
  server_->Kill();
  ASSERT_TRUE(server_->Restart());
  for (auto& t : threads) t.join();
  for (int i = 0; i < kTasks; ++i)
    EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].status.ToString();
  ASSERT_TRUE(coordinator->Shutdown().ok());
  ASSERT_TRUE(protocol->Shutdown().ok());
  w1->Signal(SIGTERM);
  w2->Signal(SIGTERM);
  EXPECT_EQ(w1->Wait(), 0) << Log("w1");
  EXPECT_EQ(w2->Wait(), 0) << Log("w2");
}

TEST_F(DistributedTest, GarbageEntryFromRedisCliIsDeadLetteredAndWorkersKeepServing) {
  auto w1 = StartWorker("w1");
  TracingRig traces;
  auto protocol = std::shared_ptr<RedisStreamsProtocol>(Connect(traces.tracer));
  ASSERT_TRUE(WaitForWorkers(*protocol, 1));
  const std::string key = protocol->StreamKey(RedisStreamsProtocol::CapabilityAgentId(kCapability));
  Child cli({"/usr/bin/redis-cli", "-p", std::to_string(server_->port()), "XADD", key, "*", "junk",
             "{not json"},
            {}, dir_ + "/cli.log");
  ASSERT_EQ(cli.Wait(), 0);
  auto coordinator = MakeCoordinator(protocol, traces.tracer, std::chrono::seconds(30));
  agents::TaskRequest r;
  r.name = "after the garbage";
  r.type = kCapability;
  EXPECT_TRUE(coordinator->ExecuteTask(r).ok());
  const std::string dead =
      protocol->DeadLetterKey(RedisStreamsProtocol::CapabilityAgentId(kCapability));
  auto raw =
      redis::Connection::Open(RedisEndpoint::Parse(server_->Url()).value(), std::chrono::seconds(2))
          .value();
  long long len = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (len == 0 && std::chrono::steady_clock::now() < deadline) {
    len = raw->Command({"XLEN", dead}).value().integer;
    if (len == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(len, 1);
  EXPECT_EQ(raw->Command({"XLEN", key}).value().integer, 0);
  EXPECT_EQ(kill(w1->pid(), 0), 0) << "the worker is still alive";
  EXPECT_TRUE(coordinator->ExecuteTask(r).ok());
  ASSERT_TRUE(coordinator->Shutdown().ok());
  ASSERT_TRUE(protocol->Shutdown().ok());
  w1->Signal(SIGTERM);
  EXPECT_EQ(w1->Wait(), 0);
  EXPECT_NE(Log("w1").find("dead"), std::string::npos) << Log("w1");
}

TEST_F(DistributedTest, MinionRunDispatchesToWorkerProcessesAndNamesLiveCapabilitiesOnAMiss) {
  auto w1 = StartWorker("w1");
  TracingRig traces;
  auto protocol = Connect(traces.tracer);
  ASSERT_TRUE(WaitForWorkers(*protocol, 1));
  ASSERT_TRUE(protocol->Shutdown().ok());
  Child run({MINION_CLI, "run", "--transport", server_->Url(), "--name", "REST API", "--type",
             kCapability},
            {}, dir_ + "/run.log");
  EXPECT_EQ(run.Wait(), 0) << Log("run");
  // This process's half of the trace: the send into the capability's stream (the worker span
  // is exported by the worker process).
  EXPECT_NE(Log("run").find("messaging.destination.name: minion:{cap:code_generation}:tasks"),
            std::string::npos)
      << Log("run");
  EXPECT_NE(Log("run").find("succeeded"), std::string::npos) << Log("run");
  Child miss(
      {MINION_CLI, "run", "--transport", server_->Url(), "--name", "x", "--type", "forecasting"},
      {}, dir_ + "/miss.log");
  EXPECT_EQ(miss.Wait(), 1) << Log("miss");
  EXPECT_NE(Log("miss").find("no worker offers capability 'forecasting'"), std::string::npos)
      << Log("miss");
  EXPECT_NE(Log("miss").find("capabilities offered by live workers: code_generation"),
            std::string::npos)
      << Log("miss");
  Child list({MINION_CLI, "workers", "--transport", server_->Url()}, {}, dir_ + "/list.log");
  EXPECT_EQ(list.Wait(), 0);
  EXPECT_NE(Log("list").find("w1"), std::string::npos) << Log("list");
  w1->Signal(SIGINT);
  EXPECT_EQ(w1->Wait(), 0);
}

TEST(DistributedAuthTest, WorkerAndRunWithTheRightPasswordWorkAndAWrongOneIsAClearError) {
  auto server = RedisServer::Start({.password = "s3cret-pw"});
  ASSERT_NE(server, nullptr);
  const std::string dir = server->dir();
  Child bad(
      {MINION_CLI, "worker", "--transport", server->Url("wrong-pw"), "--capability", kCapability},
      {}, dir + "/bad.log");
  EXPECT_EQ(bad.Wait(), 2);
  std::ifstream in(dir + "/bad.log");
  std::string log((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(log.find("refused the credentials"), std::string::npos) << log;
  EXPECT_EQ(log.find("wrong-pw"), std::string::npos) << "the password is never printed";
  Child good({MINION_CLI, "worker", "--transport", server->Url(), "--capability", kCapability,
              "--name", "pw"},
             {}, dir + "/good.log");
  {
    RedisStreamsOptions o;
    o.endpoint = RedisEndpoint::Parse(server->Url()).value();
    auto p = RedisStreamsProtocol::Connect(o);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline && (*p)->ListWorkers().value().empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ((*p)->ListWorkers().value().size(), 1u);
  }
  Child run({MINION_CLI, "run", "--transport", server->Url(), "--name", "t", "--type", kCapability,
             "--no-trace-tree"},
            {}, dir + "/run.log");
  int status = run.Wait();
  EXPECT_EQ(status, 0);
  good.Signal(SIGTERM);
  EXPECT_EQ(good.Wait(), 0);
}

}  // namespace
}  // namespace minion::transports
