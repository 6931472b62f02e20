// RedisStreamsProtocol over a private redis-server on loopback:
//   BM_RoundTrip/0          one task message to a worker and its reply back (two XADDs, two
//                           group reads, two XACK+XDEL) over TCP loopback; p50/p99 counters.
//   BM_RoundTrip/1          the same over the server's unix socket (unix:// endpoint).
//   BM_Throughput/N         task->reply messages per second with N worker processes (this
//                           binary re-executed with --worker), 256 tasks in flight.
//   BM_StreamFloor/0|1      the floor under BM_RoundTrip: two plain stream hops between this
//                           process and a peer process with bare hiredis (XADD, then a
//                           blocking XREAD; no groups, acks, scripts, threads or minion code),
//                           TCP (0) or unix socket (1). No client can go below it on this host.
//   BM_RedisCeiling         redis-benchmark on the same server for the commands one subtask
//                           needs; `subtasks_per_s` is the rate Redis alone allows when those
//                           commands run one after another per subtask.
// Run: build/bench/redis_bench --benchmark_min_time=2s   (docs/benchmarks.md)
#include <benchmark/benchmark.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <hiredis/hiredis.h>

#include "minion/agents/worker.h"
#include "minion/transports/redis_streams_protocol.h"
#include "transports/redis/redis_server.h"

extern char** environ;

namespace {

using minion::agents::Message;
using minion::agents::MessageType;
using minion::transports::RedisEndpoint;
using minion::transports::RedisStreamsOptions;
using minion::transports::RedisStreamsProtocol;

constexpr const char* kCapability = "bench";
std::string g_self;
minion::testing::RedisServer* g_server = nullptr;

RedisStreamsOptions Options(const std::string& url) {
  RedisStreamsOptions o;
  o.endpoint = RedisEndpoint::Parse(url).value();
  o.key_namespace = "bench";
  // Tracing off (the no-op tracer): this measures the transport.
  o.tracer = nullptr;  // the global tracer, a no-op here
  return o;
}

// --worker URL NAME: serve the capability with a handler that returns at once, until SIGTERM.
int WorkerMain(const std::string& url, const std::string& name) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto p = RedisStreamsProtocol::Connect(Options(url));
  if (!p.ok()) return 1;
  minion::transports::WorkerAdvert a;
  a.id = name;
  a.kind = "bench";
  a.capabilities = {kCapability};
  if (!(*p)->Advertise(a).ok()) return 1;
  minion::agents::WorkerMetadata meta;
  meta.agent_id = name;
  meta.capabilities = {kCapability};
  minion::agents::WorkerOptions wo;
  wo.max_concurrency = 4;
  minion::agents::Worker worker(
      meta,
      minion::agents::MakeFunctionHandler(
          [](const minion::trace::Context&, const minion::agents::Subtask& s)
              -> minion::Result<nlohmann::json> { return s.input; }),
      wo);
  if (!worker.Start(**p).ok()) return 1;
  int sig = 0;
  sigwait(&set, &sig);
  (void)worker.Stop();
  (void)(*p)->Shutdown();
  return 0;
}

pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<std::string> a = args;
  std::vector<char*> argv;
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  return pid;
}

struct Replies {
  std::mutex mu;
  std::condition_variable cv;
  std::uint64_t received = 0;
  void Add() {
    std::lock_guard lock(mu);
    ++received;
    cv.notify_all();
  }
  void WaitAtLeast(std::uint64_t n) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return received >= n; });
  }
};

Message Task(const std::string& from, int n) {
  minion::agents::Subtask s;
  s.task_id = "t";
  s.subtask_id = "s" + std::to_string(n);
  s.capability = kCapability;
  s.input = n;
  Message m;
  m.type = MessageType::kTask;
  m.from = from;
  m.to = RedisStreamsProtocol::CapabilityAgentId(kCapability);
  m.content = minion::agents::SubtaskToJson(s);
  return m;
}

bool WaitForWorkers(RedisStreamsProtocol& p, std::size_t n) {
  for (int i = 0; i < 2000; ++i) {
    auto w = p.ListWorkers();
    if (w.ok() && w->size() >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // other processes starting
  }
  return false;
}

class Workers {
 public:
  explicit Workers(int n, const std::string& url = g_server->Url()) {
    for (int i = 0; i < n; ++i) {
      pids_.push_back(Spawn({g_self, "--worker", url, "bw" + std::to_string(i)}));
    }
  }
  ~Workers() {
    for (pid_t p : pids_) kill(p, SIGTERM);
    for (pid_t p : pids_) waitpid(p, nullptr, 0);
  }

 private:
  std::vector<pid_t> pids_;
};

// Arg 0: TCP on loopback; 1: the server's unix socket (sender and worker both).
void BM_RoundTrip(benchmark::State& state) {
  const std::string url = state.range(0) == 1 ? g_server->UnixUrl() : g_server->Url();
  Workers workers(1, url);
  auto p = RedisStreamsProtocol::Connect(Options(url)).value();
  if (!WaitForWorkers(*p, 1)) {
    state.SkipWithError("worker did not start");
    return;
  }
  Replies replies;
  minion::agents::SubscribeOptions o;
  o.types = {MessageType::kResult, MessageType::kError};
  (void)p->Subscribe("rt-client", o,
                     [&](const minion::trace::Context&, Message) { replies.Add(); });
  std::vector<double> us;
  std::uint64_t n = 0;
  for (int i = 0; i < 200; ++i) {  // warm-up: connections, script cache
    (void)p->Send({}, Task("rt-client", i));
    replies.WaitAtLeast(++n);
  }
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    if (!p->Send({}, Task("rt-client", static_cast<int>(n))).ok()) {
      state.SkipWithError("send failed");
      break;
    }
    replies.WaitAtLeast(++n);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(us.begin(), us.end());
  if (!us.empty()) {
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  }
  (void)p->Shutdown();
}
// The floor's two ends connect with bare hiredis: "tcp:<port>" or "unix:<socket path>".
redisContext* FloorConnect(const std::string& where) {
  if (where.rfind("unix:", 0) == 0) return redisConnectUnix(where.c_str() + 5);
  return redisConnect("127.0.0.1", std::atoi(where.c_str() + 4));
}

// XREAD BLOCK on `stream` after `*last`; returns the first entry's first field value and
// advances *last. Empty on error.
std::string FloorRead(redisContext* c, const char* stream, std::string* last) {
  auto* r = static_cast<redisReply*>(
      redisCommand(c, "XREAD BLOCK 0 STREAMS %s %s", stream, last->c_str()));
  std::string value;
  if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
    const redisReply* entry = r->element[0]->element[1]->element[0];
    *last = entry->element[0]->str;
    value = entry->element[1]->element[1]->str;
  }
  if (r) freeReplyObject(r);
  return value;
}

// --floor-peer WHERE: echoes every entry of bench:floor:a onto bench:floor:b until "stop".
int FloorPeerMain(const std::string& where) {
  redisContext* c = FloorConnect(where);
  if (!c || c->err) return 1;
  std::string last = "0";
  for (;;) {
    const std::string v = FloorRead(c, "bench:floor:a", &last);
    if (v.empty() || v == "stop") break;
    if (auto* r = redisCommand(c, "XADD bench:floor:b * v %s", v.c_str())) freeReplyObject(r);
  }
  redisFree(c);
  return 0;
}

void BM_StreamFloor(benchmark::State& state) {
  std::string where = "tcp:" + std::to_string(g_server->port());
  if (state.range(0) == 1) {
    std::string url = g_server->UnixUrl();  // unix://<dir>/redis.sock?db=0
    where = "unix:" + url.substr(7, url.find('?') - 7);
  }
  redisContext* c = FloorConnect(where);
  if (!c || c->err) {
    state.SkipWithError("connect failed");
    return;
  }
  if (auto* r = redisCommand(c, "DEL bench:floor:a bench:floor:b")) freeReplyObject(r);
  const pid_t peer = Spawn({g_self, "--floor-peer", where});
  std::string last = "0";
  auto hop = [&](const char* v) {
    if (auto* r = redisCommand(c, "XADD bench:floor:a * v %s", v)) freeReplyObject(r);
    return FloorRead(c, "bench:floor:b", &last) == v;
  };
  for (int i = 0; i < 200; ++i) (void)hop("x");  // warm-up (and waits for the peer to start)
  std::vector<double> us;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    if (!hop("x")) {
      state.SkipWithError("peer did not echo");
      break;
    }
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  if (auto* r = redisCommand(c, "XADD bench:floor:a * v stop")) freeReplyObject(r);
  waitpid(peer, nullptr, 0);
  redisFree(c);
  std::sort(us.begin(), us.end());
  if (!us.empty()) {
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  }
}
BENCHMARK(BM_StreamFloor)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_RoundTrip)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_Throughput(benchmark::State& state) {
  const int nworkers = static_cast<int>(state.range(0));
  Workers workers(nworkers);
  auto p = RedisStreamsProtocol::Connect(Options(g_server->Url())).value();
  if (!WaitForWorkers(*p, static_cast<std::size_t>(nworkers))) {
    state.SkipWithError("workers did not start");
    return;
  }
  Replies replies;
  minion::agents::SubscribeOptions o;
  o.types = {MessageType::kResult, MessageType::kError};
  o.max_concurrency = 4;
  (void)p->Subscribe("tp-client", o,
                     [&](const minion::trace::Context&, Message) { replies.Add(); });
  constexpr std::uint64_t kWindow = 256;
  constexpr int kSenders = 4;
  std::uint64_t sent = 0;
  for (auto _ : state) {
    // One iteration: 2,048 tasks through, never more than kWindow outstanding.
    const std::uint64_t target = sent + 2048;
    std::atomic<std::uint64_t> next{sent};
    std::vector<std::thread> senders;
    for (int s = 0; s < kSenders; ++s) {
      senders.emplace_back([&] {
        for (std::uint64_t i; (i = next++) < target;) {
          {
            std::unique_lock lock(replies.mu);
            replies.cv.wait(lock, [&] { return i < replies.received + kWindow; });
          }
          while (!p->Send({}, Task("tp-client", static_cast<int>(i))).ok()) {
          }
        }
      });
    }
    for (auto& t : senders) t.join();
    replies.WaitAtLeast(target);
    sent = target;
  }
  state.counters["subtasks_per_s"] =
      benchmark::Counter(static_cast<double>(sent), benchmark::Counter::kIsRate);
  (void)p->Shutdown();
}
BENCHMARK(BM_Throughput)
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

// requests/s of one command with redis-benchmark (`--csv`), 8 clients, no pipelining.
double RedisBenchmark(const std::vector<std::string>& command) {
  std::string cmd = "redis-benchmark -p " + std::to_string(g_server->port()) +
                    " -c 8 -n 100000 -r 1000000000 --csv";
  for (const auto& c : command) cmd += " '" + c + "'";
  FILE* f = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!f) return 0;
  char line[512];
  double rate = 0;
  while (fgets(line, sizeof line, f)) {
    // "name","rps",...  (the header line has no number)
    const char* comma = std::strchr(line, ',');
    if (comma && comma[1] == '"') rate = std::max(rate, std::atof(comma + 2));
  }
  pclose(f);
  return rate;
}

void BM_RedisCeiling(benchmark::State& state) {
  std::map<std::string, double> rate;
  for (auto _ : state) {
    // The stream commands one subtask costs, twice over (task and reply): a scripted XADD with
    // its checks, a group read, XACK, XDEL. __rand_int__ keeps XACK/XDEL on distinct ids.
    rate["xadd"] =
        RedisBenchmark({"XADD", "ceil:s", "MAXLEN", "~", "100000", "*", "content", "{\"n\":1}"});
    if (std::system(("redis-cli -p " + std::to_string(g_server->port()) +
                     " XGROUP CREATE ceil:s g 0 MKSTREAM >/dev/null 2>&1")
                        .c_str()) != 0) {
      state.SkipWithError("redis-cli XGROUP CREATE failed");
    }
    rate["xreadgroup"] =
        RedisBenchmark({"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "ceil:s", ">"});
    rate["xack"] = RedisBenchmark({"XACK", "ceil:s", "g", "__rand_int__-0"});
    rate["xdel"] = RedisBenchmark({"XDEL", "ceil:s", "__rand_int__-0"});
  }
  double seconds_per_subtask = 0;
  for (const char* k : {"xadd", "xreadgroup", "xack", "xdel"}) {
    state.counters[std::string(k) + "_per_s"] = rate[k];
    if (rate[k] > 0) seconds_per_subtask += 2.0 / rate[k];
  }
  if (seconds_per_subtask > 0) state.counters["subtasks_per_s"] = 1.0 / seconds_per_subtask;
}
BENCHMARK(BM_RedisCeiling)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  g_self = argv[0];
  if (argc >= 4 && std::string(argv[1]) == "--worker") return WorkerMain(argv[2], argv[3]);
  if (argc >= 3 && std::string(argv[1]) == "--floor-peer") return FloorPeerMain(argv[2]);
  auto server = minion::testing::RedisServer::Start(
      minion::testing::RedisServerOptions{.password = "", .aof = false});
  if (!server) {
    std::fprintf(stderr, "redis_bench: redis-server did not start\n");
    return 1;
  }
  g_server = server.get();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_server = nullptr;
  return 0;
}
