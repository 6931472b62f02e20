// `minion worker`: a long-running worker process on a networked transport. It advertises its
// capabilities, competes with other worker processes for subtasks, replies, and on SIGTERM or
// SIGINT stops taking work, finishes what it holds, flushes its spans and exits 0.
// `minion workers`: lists the live workers.
#include <signal.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstring>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "commands.h"
#include "minion/agents/builtin_workers.h"
#include "minion/agents/external_worker.h"
#include "minion/llm/factory.h"
#include "minion/logging/logging.h"
#include "minion/observability/setup.h"
#include "minion/observability/tracing.h"
#include "observe.h"
#include "transport.h"
#ifdef MINION_HAVE_COORDINATOR
#include "minion/common/json.h"
#include "minion/http/server.h"
#endif

namespace minion::cli {
namespace {

struct WorkerFlags {
  TransportFlags transport;
  std::vector<std::string> capabilities;
  std::string kind;
  std::string exec;
  int exec_timeout_ms = 300000;
  int concurrency = 4;
  std::string name;
  std::string exporter;
  std::string service_name;
  std::string metrics_listen;  // empty: no metrics endpoint
};

// What /healthz and the metrics collect hook read, while the worker runs. The pointers are set
// once the transport is connected and the worker started, and cleared before either goes away.
struct WorkerState {
  std::mutex mu;
  std::string id;
  transports::RedisStreamsProtocol* protocol = nullptr;  // guarded by mu
  agents::Worker* worker = nullptr;                      // guarded by mu
  bool stopping = false;                                 // guarded by mu
};

// The Redis connection's state, by a round trip (the same query `minion workers` makes):
// "up", "connecting" (not connected yet), "stopping", or "down" with the error.
std::pair<std::string, std::string> ProbeRedis(WorkerState& state) {
  std::lock_guard<std::mutex> lock(state.mu);
  if (state.stopping) return {"stopping", ""};
  if (state.protocol == nullptr) return {"connecting", ""};
  auto workers = state.protocol->ListWorkers();
  if (!workers.ok()) return {"down", workers.status().ToString()};
  return {"up", ""};
}

#ifdef MINION_HAVE_COORDINATOR
// `--metrics-listen`: GET /metrics (the Prometheus exposition) and GET /healthz (200 while the
// Redis connection answers, 503 otherwise) on the project's HTTP toolkit.
Result<std::unique_ptr<http::Server>> StartMetricsServer(
    const std::string& listen, std::shared_ptr<metrics::PrometheusMetrics> metrics,
    WorkerState& state) {
  auto address = http::ParseListenAddress(listen);
  if (!address.ok()) return address.status().WithContext("--metrics-listen");
  metrics->AddCollectHook([&state](metrics::PrometheusMetrics& m) {
    const auto [redis, error] = ProbeRedis(state);
    m.SetHealth(redis == "up" ? 1 : 0);
    std::lock_guard<std::mutex> lock(state.mu);
    metrics::WorkerProcessStats s;
    if (state.worker != nullptr) {
      s.handled = state.worker->handled();
      s.failed = state.worker->failed();
      s.in_flight = state.worker->in_flight();
      m.SetQueueDepth(state.id, static_cast<double>(s.in_flight));
    }
    if (state.protocol != nullptr) {
      const auto t = state.protocol->stats();
      s.redelivered = t.redelivered;
      s.dead_lettered = t.dead_lettered;
      s.reconnects = t.reconnects;
    }
    m.SetWorkerStats(state.id, s);
    const logging::LoggingStats log = logging::Stats();
    m.SetLogStats(log.lines, log.dropped, log.suppressed);
  });
  http::ServerOptions options;
  options.host = address->first;
  options.port = address->second;
  options.threads = 2;
  options.max_body_bytes = 1024;  // GET only
  auto server = std::make_unique<http::Server>(options);
  server->Get("/metrics", [metrics](const http::Request&, http::Response& res) {
    res.content_type = std::string(metrics::PrometheusMetrics::kContentType);
    res.body = metrics->Serialize();
  });
  server->Get("/healthz", [&state](const http::Request&, http::Response& res) {
    const auto [redis, error] = ProbeRedis(state);
    nlohmann::json body = {
        {"status", redis == "up" ? "ok" : "unavailable"}, {"worker", state.id}, {"redis", redis}};
    if (!error.empty()) body["error"] = error;
    res.status = redis == "up" ? 200 : 503;
    res.body = DumpJson(body);
  });
  if (Status s = server->Start(); !s.ok()) return s.WithContext("--metrics-listen");
  return server;
}
#endif

std::optional<agents::BuiltinKind> KindFromName(const std::string& name) {
  for (auto k : agents::kAllBuiltinKinds) {
    if (agents::BuiltinRole(k) == name) return k;
  }
  return std::nullopt;
}

std::string Host() {
  char buf[256] = {};
  return gethostname(buf, sizeof buf - 1) == 0 ? buf : "unknown-host";
}

// Waits for SIGTERM/SIGINT (blocked in every thread, see RunWorker) for up to `timeout`;
// true when one arrived.
bool WaitForSignal(const sigset_t& set, std::chrono::milliseconds timeout, int* which) {
  timespec ts{static_cast<time_t>(timeout.count() / 1000),
              static_cast<long>((timeout.count() % 1000) * 1000000)};
  for (;;) {
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig > 0) {
      *which = sig;
      return true;
    }
    if (errno != EINTR) return false;  // EAGAIN: timed out
  }
}

int RunWorker(const WorkerFlags& flags) {
  // Block the stop signals before any thread starts, so every thread inherits the mask and the
  // signals are taken synchronously here with sigwait: nothing runs in a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  if (TransportUrl(flags.transport).empty()) {
    std::cerr << "minion worker: --transport (or MINION_TRANSPORT) is required, e.g. "
                 "redis://127.0.0.1:6379/0\n";
    return 2;
  }
  auto options = RedisOptions(flags.transport);
  if (!options.ok()) {
    std::cerr << "minion worker: --transport: " << options.status().ToString() << "\n";
    return 2;
  }
  std::optional<agents::BuiltinKind> kind;
  if (!flags.kind.empty()) {
    kind = KindFromName(flags.kind);
    if (!kind) {
      std::cerr << "minion worker: unknown --kind '" << flags.kind << "'\n";
      return 2;
    }
  }
  std::vector<std::string> capabilities = flags.capabilities;
  if (capabilities.empty() && kind) capabilities = agents::BuiltinCapabilities(*kind);
  if (capabilities.empty()) {
    std::cerr << "minion worker: give at least one --capability (or a --kind)\n";
    return 2;
  }
  if (!kind && flags.exec.empty()) kind = agents::BuiltinKind::kCoder;

  observability::TracingConfig base;
  base.exporter = "none";
  base.service_name = "minion-worker";
  auto config = observability::TracingConfig::FromEnv(base);
  if (!config.ok()) {
    std::cerr << "minion worker: tracing configuration: " << config.status().ToString() << "\n";
    return 2;
  }
  if (!flags.exporter.empty()) config->exporter = flags.exporter;
  if (!flags.service_name.empty()) config->service_name = flags.service_name;
  // With --metrics-listen the process-wide recorder counts what the worker does, and the
  // exporters' pipeline health is reported; without it nothing is recorded.
  std::shared_ptr<metrics::PrometheusMetrics> metrics;
  if (!flags.metrics_listen.empty()) metrics = StartMetrics();
  if (Status s = InitTracing(*config, metrics); !s.ok()) {
    std::cerr << "minion worker: tracing: " << s.ToString() << "\n";
    return 2;
  }
  std::shared_ptr<trace::Tracer> tracer;  // null: the global tracer just installed

  std::unique_ptr<agents::TaskHandler> handler;
  if (!flags.exec.empty()) {
    agents::ExternalCommandOptions ext;
    ext.argv = {"/bin/sh", "-c", flags.exec};
    ext.timeout = std::chrono::milliseconds(flags.exec_timeout_ms);
    handler = agents::MakeExternalCommandHandler(std::move(ext));
  } else {
    auto provider = llm::MakeProviderFromEnv();
    if (!provider.ok()) {
      std::cerr << "minion worker: LLM provider: " << provider.status().ToString() << "\n";
      return 2;
    }
    handler = agents::MakeLlmTaskHandler(
        *kind, std::shared_ptr<llm::Provider>(std::move(provider).value()));
  }
  const std::string role = kind ? std::string(agents::BuiltinRole(*kind)) : "external";
  const std::string id =
      flags.name.empty() ? role + "-" + Host() + "-" + std::to_string(getpid()) : flags.name;

  options->tracer = tracer;
  options->consumer = id;
  // Declared before the metrics server, so they outlive its handlers.
  std::unique_ptr<transports::RedisStreamsProtocol> protocol;
  std::unique_ptr<agents::Worker> worker_holder;
  WorkerState state;
  state.id = id;
  // Cleared (under the lock) before the worker and the transport go, whichever way we leave.
  struct Detach {
    WorkerState& state;
    ~Detach() {
      std::lock_guard<std::mutex> lock(state.mu);
      state.stopping = true;
      state.protocol = nullptr;
      state.worker = nullptr;
    }
  };
#ifdef MINION_HAVE_COORDINATOR
  std::unique_ptr<http::Server> metrics_server;
  if (!flags.metrics_listen.empty()) {
    auto started = StartMetricsServer(flags.metrics_listen, metrics, state);
    if (!started.ok()) {
      std::cerr << "minion worker: " << started.status().ToString() << "\n";
      (void)observability::ShutdownTracer();
      return 2;
    }
    metrics_server = std::move(started).value();
    std::cout << "minion worker metrics listening on http://" << metrics_server->host() << ":"
              << metrics_server->port() << std::endl;
  }
#else
  if (!flags.metrics_listen.empty()) {
    std::cerr << "minion worker: --metrics-listen needs the HTTP toolkit (cpp-httplib), which "
                 "this build lacks\n";
    return 2;
  }
#endif
  Detach detach{state};
  // Redis may be down when the worker starts (or restarts): retry with backoff, saying so.
  auto backoff = std::chrono::milliseconds(200);
  for (;;) {
    auto connected = transports::RedisStreamsProtocol::Connect(*options);
    if (connected.ok()) {
      protocol = std::move(connected).value();
      break;
    }
    if (connected.status().code() == StatusCode::kPermissionDenied ||
        connected.status().code() == StatusCode::kInvalidArgument) {
      std::cerr << "minion worker: " << connected.status().ToString() << "\n";
      (void)observability::ShutdownTracer();
      return 2;
    }
    std::cerr << "minion worker: " << connected.status().ToString() << "; retrying in "
              << backoff.count() << " ms\n";
    int sig = 0;
    if (WaitForSignal(stop_signals, backoff, &sig)) {
      (void)observability::ShutdownTracer();
      return 0;
    }
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }

  transports::WorkerAdvert advert;
  advert.id = id;
  advert.kind = role;
  advert.capabilities = capabilities;
  if (Status s = protocol->Advertise(advert); !s.ok()) {
    std::cerr << "minion worker: " << s.ToString() << "\n";
    return 1;
  }
  agents::WorkerMetadata meta;
  meta.agent_id = id;
  meta.role = role;
  meta.capabilities = capabilities;
  agents::WorkerOptions wo;
  wo.tracer = tracer;
  wo.max_concurrency = static_cast<std::size_t>(flags.concurrency);
  worker_holder = std::make_unique<agents::Worker>(meta, std::move(handler), wo);
  agents::Worker& worker = *worker_holder;
  if (Status s = worker.Start(*protocol); !s.ok()) {
    std::cerr << "minion worker: " << s.ToString() << "\n";
    return 1;
  }
  {
    std::lock_guard<std::mutex> lock(state.mu);
    state.protocol = protocol.get();
    state.worker = &worker;
  }
  std::cerr << "minion worker: " << id << " (pid " << getpid() << ") serving";
  for (const auto& c : capabilities) std::cerr << " " << c;
  std::cerr << " on " << options->endpoint.Describe() << "\n";

  int sig = 0;
  while (!WaitForSignal(stop_signals, std::chrono::hours(24), &sig)) {
  }
  std::cerr << "minion worker: " << strsignal(sig) << ": finishing " << worker.in_flight()
            << " running subtask(s), then stopping\n";
  Status stopped = worker.Stop();  // stops taking work, waits for running subtasks (they reply)
  (void)protocol->Withdraw(id);
  Status shut = protocol->Shutdown(std::chrono::seconds(10));
  Status flushed = observability::ShutdownTracer(std::chrono::seconds(10));
  for (const Status& s : {stopped, shut, flushed}) {
    if (!s.ok()) std::cerr << "minion worker: warning: " << s.ToString() << "\n";
  }
  std::cerr << "minion worker: " << id << " stopped after " << worker.handled() << " subtask(s)\n";
  return 0;
}

int ListWorkers(const TransportFlags& flags, bool json) {
  if (TransportUrl(flags).empty()) {
    std::cerr << "minion workers: --transport (or MINION_TRANSPORT) is required\n";
    return 2;
  }
  auto options = RedisOptions(flags);
  if (!options.ok()) {
    std::cerr << "minion workers: --transport: " << options.status().ToString() << "\n";
    return 2;
  }
  auto protocol = transports::RedisStreamsProtocol::Connect(*options);
  if (!protocol.ok()) {
    std::cerr << "minion workers: " << protocol.status().ToString() << "\n";
    return 1;
  }
  auto workers = (*protocol)->ListWorkers();
  (void)(*protocol)->Shutdown(std::chrono::seconds(1));
  if (!workers.ok()) {
    std::cerr << "minion workers: " << workers.status().ToString() << "\n";
    return 1;
  }
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& w : *workers) {
      out.push_back({{"id", w.id},
                     {"kind", w.kind},
                     {"host", w.host},
                     {"pid", w.pid},
                     {"capabilities", w.capabilities},
                     {"in_flight", w.in_flight},
                     {"last_heartbeat_ms", w.last_heartbeat_ms}});
    }
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  if (workers->empty()) {
    std::cout << "no live workers on " << options->endpoint.Describe() << "\n";
    return 0;
  }
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::cout << std::left << std::setw(36) << "ID" << std::setw(20) << "HOST" << std::setw(9)
            << "PID" << std::setw(10) << "IN-FLIGHT" << std::setw(16) << "LAST HEARTBEAT"
            << "CAPABILITIES\n";
  for (const auto& w : *workers) {
    std::string caps;
    for (const auto& c : w.capabilities) caps += (caps.empty() ? "" : ",") + c;
    std::cout << std::left << std::setw(36) << w.id << std::setw(20) << w.host << std::setw(9)
              << w.pid << std::setw(10) << w.in_flight << std::setw(16)
              << (std::to_string(std::max<std::int64_t>(0, now_ms - w.last_heartbeat_ms)) +
                  " ms ago")
              << caps << "\n";
  }
  return 0;
}

void AddTransportOptions(CLI::App* app, TransportFlags* t) {
  app->add_option("--transport", t->url,
                  "redis://[user:password@]host:port/db (default: $MINION_TRANSPORT)");
  app->add_option("--namespace", t->key_namespace, "Prefix of every Redis key");
}

}  // namespace

Command AddWorkerCommand(CLI::App& app) {
  auto flags = std::make_shared<WorkerFlags>();
  CLI::App* cmd =
      app.add_subcommand("worker", "Run a worker process that takes subtasks from a transport");
  AddTransportOptions(cmd, &flags->transport);
  cmd->add_option("--capability", flags->capabilities,
                  "A capability this worker offers (repeatable)");
  cmd->add_option("--kind", flags->kind, "Built-in worker kind answering with the LLM provider")
      ->check(CLI::IsMember({"coder", "analyst", "researcher", "writer", "reviewer"}));
  cmd->add_option(
      "--exec", flags->exec,
      "Run this shell command per subtask instead (subtask JSON on stdin, result JSON on stdout)");
  cmd->add_option("--exec-timeout-ms", flags->exec_timeout_ms, "Timeout of one --exec run")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--concurrency", flags->concurrency, "Subtasks handled at once")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--name", flags->name, "Worker id (default: <kind>-<host>-<pid>)");
  cmd->add_option("--reclaim-idle-ms", flags->transport.reclaim_idle_ms,
                  "Take over subtasks another worker has held this long without progress")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-deliveries", flags->transport.max_deliveries,
                  "Deliveries after which a subtask goes to the dead-letter stream")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--exporter", flags->exporter, "Span exporters, as for `minion run`");
  cmd->add_option("--service-name", flags->service_name,
                  "service.name of the spans (default minion-worker)");
  cmd->add_option("--metrics-listen", flags->metrics_listen,
                  "host:port serving GET /metrics (Prometheus) and GET /healthz (the Redis "
                  "connection); off by default; port 0 picks one, printed on stdout");
  return Command{cmd, [flags] { return RunWorker(*flags); }};
}

Command AddWorkersCommand(CLI::App& app) {
  auto flags = std::make_shared<TransportFlags>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("workers", "List the live worker processes on a transport");
  AddTransportOptions(cmd, flags.get());
  cmd->add_flag("--json", *json, "Print JSON");
  return Command{cmd, [flags, json] { return ListWorkers(*flags, *json); }};
}

}  // namespace minion::cli
