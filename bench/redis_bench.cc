// RedisStreamsProtocol over a private redis-server on loopback:
//   BM_RoundTrip/0          one task message to a worker and its reply back (two XADDs, two
//                           group reads, two XACK+XDEL) over TCP loopback; p50/p99 counters.
//   BM_RoundTrip/1          the same over the server's unix socket (unix:// endpoint).
//   BM_Throughput/N         task->reply messages per second with N worker processes (this
//                           binary re-executed with --worker), 256 tasks in flight.
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
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

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
