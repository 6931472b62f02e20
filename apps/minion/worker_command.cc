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
#include <string>
#include <vector>

#include "commands.h"
#include "minion/agents/builtin_workers.h"
#include "minion/agents/external_worker.h"
#include "minion/llm/factory.h"
#include "minion/observability/setup.h"
#include "minion/observability/tracing.h"
#include "transport.h"

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
};

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
  if (Status s = observability::InitGlobalTracer(*config); !s.ok()) {
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
  // Redis may be down when the worker starts (or restarts): retry with backoff, saying so.
  std::unique_ptr<transports::RedisStreamsProtocol> protocol;
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
  agents::Worker worker(meta, std::move(handler), wo);
  if (Status s = worker.Start(*protocol); !s.ok()) {
    std::cerr << "minion worker: " << s.ToString() << "\n";
    return 1;
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
