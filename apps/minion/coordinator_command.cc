// `minion coordinator`: the runtime as a long-running service. The task API, health, readiness
// and Prometheus metrics on one HTTP listener (loopback unless told otherwise), JSON logs tied
// to traces, circuit breakers around the model, the tools and every worker; until SIGINT or
// SIGTERM, then a graceful stop (queued tasks finish, traces flush).
#include <signal.h>
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "minion/agents/coordinator.h"
#include "minion/agents/runtime_builder.h"
#include "minion/agents/usage.h"
#include "minion/common/env.h"
#include "minion/http/server.h"
#include "minion/llm/factory.h"
#include "minion/logging/logging.h"
#include "minion/observability/setup.h"
#include "minion/observability/tracing.h"
#include "minion/resilience/retry.h"
#include "minion/service/task_api.h"
#include "observe.h"

namespace minion::cli {
namespace {

constexpr const char* kFooter = R"(
The API (docs/service.md):
  POST /v1/tasks[?wait=true]   {"name","type","priority"?,"description"?,"input"?}
  GET  /v1/tasks/{id}          status, subtask outputs, error, timings, trace id
  GET  /healthz, /readyz       liveness; readiness with the health of each component
  GET  /metrics                Prometheus text exposition
Send W3C traceparent/tracestate/baggage to make the task part of your trace; every answer about
a task carries its traceparent. With --token (or MINION_API_TOKEN), all but /healthz and /readyz
need "Authorization: Bearer <token>".
Tracing, LLM and logging variables are those of `minion run`.
Exit status: 0 after a clean stop on SIGINT/SIGTERM, 2 for bad flags or configuration.
)";

struct CoordinatorFlags {
  std::string listen = "127.0.0.1:8080";
  std::string token;
  std::string exporter;
  std::string service_name;
  int api_workers = 8;
  int max_queued = 1024;
  int max_body_kib = 1024;
  int timeout_ms = 60000;
  int max_attempts = 3;
  std::string prices;
  ObserveFlags observe;
};

int Serve(const CoordinatorFlags& flags) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  // Blocked before any thread starts, so only sigwait below receives them.
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto address = http::ParseListenAddress(flags.listen);
  if (!address.ok()) {
    std::cerr << "minion: --listen: " << address.status().ToString() << "\n";
    return 2;
  }
  if (Status s = StartLogging(flags.observe); !s.ok()) {
    std::cerr << "minion: logging: " << s.ToString() << "\n";
    return 2;
  }
  struct LoggingStop {
    ~LoggingStop() { logging::Shutdown(); }
  } logging_stop;

  observability::TracingConfig base;
  base.exporter = "none";
  auto config = observability::TracingConfig::FromEnv(base);
  if (!config.ok()) {
    std::cerr << "minion: tracing configuration: " << config.status().ToString() << "\n";
    return 2;
  }
  if (!flags.exporter.empty()) config->exporter = flags.exporter;
  if (!flags.service_name.empty()) config->service_name = flags.service_name;
  std::shared_ptr<const agents::PriceTable> prices;
  if (!flags.prices.empty()) {
    auto table = agents::PriceTable::Load(flags.prices);
    if (!table.ok()) {
      std::cerr << "minion: --prices: " << table.status().ToString() << "\n";
      return 2;
    }
    prices = std::make_shared<const agents::PriceTable>(std::move(table).value());
  }
  // Before tracing: the exporters' pipeline health is reported through it.
  auto metrics = StartMetrics();
  if (Status s = InitTracing(*config, metrics); !s.ok()) {
    std::cerr << "minion: tracing: " << s.ToString() << "\n";
    return 2;
  }
  auto resilience_config = LoadResilience(flags.observe);
  if (!resilience_config.ok()) {
    std::cerr << "minion: " << resilience_config.status().ToString() << "\n";
    return 2;
  }
  auto provider = llm::MakeProviderFromEnv();
  if (!provider.ok()) {
    std::cerr << "minion: LLM provider: " << provider.status().ToString() << "\n";
    return 2;
  }
  agents::CoordinatorOptions options;
  options.prices = prices;  // tasks' cost, and minion_llm_cost_total
  options.provider = GuardProvider(std::shared_ptr<llm::Provider>(std::move(provider).value()),
                                   *resilience_config);
  options.orchestrator.subtask_timeout = std::chrono::milliseconds(flags.timeout_ms);
  options.orchestrator.retry.max_attempts = flags.max_attempts;
  // Subtask retries share one budget (20% of first attempts, bucket of 10), so a failing
  // dependency does not get max_attempts times the traffic.
  options.orchestrator.retry.budget = std::make_shared<resilience::RetryBudget>();
  // One in-process worker of each built-in kind, answering through the provider above.
  auto coordinator = agents::BuildCoordinator(std::move(options));
  if (!coordinator.ok()) {
    std::cerr << "minion: " << coordinator.status().ToString() << "\n";
    return 2;
  }
  (*coordinator)->registry().SetBreakerOptions(resilience_config->workers.circuit_breaker);
  WatchCoordinator(*metrics, **coordinator);

  service::TaskApiOptions api_options;
  api_options.token = flags.token.empty() ? env::Get("MINION_API_TOKEN").value_or("") : flags.token;
  api_options.workers = static_cast<std::size_t>(flags.api_workers);
  api_options.max_queued = static_cast<std::size_t>(flags.max_queued);
  api_options.max_body_bytes = static_cast<std::size_t>(flags.max_body_kib) * 1024;
  api_options.metrics = metrics;
  service::TaskApi api(**coordinator, api_options);

  http::ServerOptions server_options;
  server_options.host = address->first;
  server_options.port = address->second;
  // The toolkit answers 413 itself above this; the API checks its own (smaller) limit too.
  server_options.max_body_bytes = api_options.max_body_bytes;
  server_options.max_inflated_body_bytes = api_options.max_body_bytes;
  server_options.threads = static_cast<std::size_t>(flags.api_workers) + 8;
  http::Server server(server_options);
  api.Register(server);
  if (Status s = server.Start(); !s.ok()) {
    std::cerr << "minion: " << s.ToString() << "\n";
    return 2;
  }
  std::cout << "minion coordinator listening on http://" << server.host() << ":" << server.port()
            << std::endl;
  logging::Log(
      logging::Level::kInfo, "coordinator", "listening",
      {{"address", server.host()}, {"port", server.port()}, {"auth", !api_options.token.empty()}});

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  logging::Log(logging::Level::kInfo, "coordinator", "stopping", {{"signal", sig}});
  api.Shutdown();  // finish queued tasks first, answering waiting clients
  server.Shutdown();
  // Before the coordinator stops: the collect hook reads its workers and ledger.
  if (!flags.observe.metrics_file.empty()) {
    if (Status s = metrics->WriteFile(flags.observe.metrics_file); !s.ok())
      std::cerr << "minion: " << s.ToString() << "\n";
  }
  (void)(*coordinator)->Shutdown(std::chrono::seconds(10));
  Status flushed = observability::ShutdownTracer(std::chrono::seconds(10));
  if (!flushed.ok()) std::cerr << "minion: warning: " << flushed.ToString() << "\n";
  return 0;
}

}  // namespace

Command AddCoordinatorCommand(CLI::App& app) {
  auto flags = std::make_shared<CoordinatorFlags>();
  CLI::App* cmd =
      app.add_subcommand("coordinator", "Serve the task API, health and metrics over HTTP");
  cmd->footer(kFooter);
  cmd->add_option("--listen", flags->listen,
                  "host:port to listen on (default 127.0.0.1:8080; port 0 picks one)");
  cmd->add_option("--token", flags->token,
                  "Bearer token required for the API and /metrics (MINION_API_TOKEN)");
  cmd->add_option("--exporter", flags->exporter, "Span exporters, as for `minion run`");
  cmd->add_option("--service-name", flags->service_name, "service.name of the spans");
  cmd->add_option("--api-workers", flags->api_workers,
                  "Tasks run at once for asynchronous submissions")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--max-queued", flags->max_queued, "Asynchronous tasks waiting to run before 503")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--max-body-kib", flags->max_body_kib, "Largest request body in KiB")
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--timeout-ms", flags->timeout_ms, "Per-subtask timeout in milliseconds")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-attempts", flags->max_attempts,
                  "Attempts per subtask, including the first")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--prices", flags->prices,
                  "JSON price table (USD per million tokens per model, examples/prices.json): "
                  "tasks report their cost and minion_llm_cost_total counts it")
      ->check(CLI::ExistingFile);
  AddObserveFlags(*cmd, flags->observe);
  return Command{cmd, [flags] { return Serve(*flags); }};
}

}  // namespace minion::cli
