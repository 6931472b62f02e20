// `minion run`: one task through the embedded runtime (in-process protocol, the five built-in
// workers, the offline LLM provider unless an endpoint is configured); prints the result and its
// trace tree.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdlib>
#include <set>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "commands.h"
#include "minion/agents/coordinator.h"
#include "minion/agents/planner.h"
#include "minion/exporters/in_memory_exporter.h"
#include "minion/exporters/stdout_exporter.h"
#include "minion/llm/factory.h"
#include "minion/observability/setup.h"
#include "minion/propagation/carriers.h"
#include "minion/propagation/from_env.h"
#include "minion/sdk/simple_span_processor.h"
#include "transport.h"

namespace minion::cli {
namespace {


constexpr const char* kFooter = R"(
Tracing configuration (flags win over the environment):
  TRACING_ENABLED, TRACING_EXPORTER, OTLP_ENDPOINT, SAMPLING_RATIO, JAEGER_URL, SERVICE_NAME,
  ENVIRONMENT                      the seed's variables
  OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT,
  OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG
                                   the OpenTelemetry ones (they win over the seed's)
  TRACEPARENT / TRACESTATE / BAGGAGE
                                   continue the caller's trace (W3C, as environment variables)
The trace tree printed after the result is collected in memory alongside the configured
exporter (default: none besides the printout).

LLM configuration (default: the offline provider, deterministic and without network):
  MINION_LLM_PROVIDER, MINION_LLM_BASE_URL or OPENAI_BASE_URL, MINION_LLM_API_KEY or
  OPENAI_API_KEY, MINION_LLM_MODEL, MINION_LLM_TIMEOUT_MS, MINION_LLM_MAX_RETRIES

Built-in workers and their capabilities (--type picks one directly):
  coder-1       code_generation code_review debugging refactoring
  analyst-1     data_analysis statistical_analysis forecasting visualization
  researcher-1  research information_gathering synthesis summarization
  writer-1      content_creation editing copywriting technical_writing
  reviewer-1    code_review content_review quality_assurance testing

Examples:
  minion run --name "Generate REST API" --type code_generation --priority 8
  minion run --name "Ship feature" --type workflow --workflow examples/workflow.yaml
  OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 minion run ...
Exit status: 0 when the task succeeded, 1 when it failed, 2 for bad flags or configuration.
)";

struct RunFlags {
  std::string name;
  std::string type;
  int priority = 5;
  std::string description;
  std::string input;
  std::string workflow;
  std::string exporter;
  std::optional<double> sampling_ratio;
  std::string service_name;
  std::string planner = "direct";
  std::string ledger;
  int timeout_ms = 60000;
  int max_attempts = 3;
  bool json = false;
  bool no_tree = false;
  bool ui = false;                                // --ui: export to a running `minion serve`
  std::string ui_url = "http://127.0.0.1:16686";  // its --listen address
  TransportFlags transport;
};

// With a networked transport the coordinator's workers are other processes: route each live
// capability to its shared stream (any worker process offering it takes the subtask).
Result<std::shared_ptr<transports::RedisStreamsProtocol>> ConnectTransport(const RunFlags& flags,
                                                                           std::vector<std::string>* live) {
  MINION_ASSIGN_OR_RETURN(auto options, RedisOptions(flags.transport));
  MINION_ASSIGN_OR_RETURN(auto protocol, transports::RedisStreamsProtocol::Connect(options));
  MINION_ASSIGN_OR_RETURN(auto workers, protocol->ListWorkers());
  std::set<std::string> caps;
  for (const auto& w : workers) caps.insert(w.capabilities.begin(), w.capabilities.end());
  live->assign(caps.begin(), caps.end());
  return std::shared_ptr<transports::RedisStreamsProtocol>(std::move(protocol));
}

void PrintHuman(const agents::TaskResult& r) {
  std::cout << "Task " << r.task_id << ": " << r.status_name() << " in "
            << static_cast<double>(r.duration.count()) / 1e6 << " ms (planner: " << r.planner
            << (r.replanned ? ", replanned" : "") << ")\n";
  if (!r.ok()) std::cout << "  error: " << r.status.ToString() << "\n";
  for (const auto& s : r.subtasks) {
    std::cout << "  [" << (s.status.ok() ? "succeeded" : "failed") << "] " << s.name << " (capability "
              << s.capability << ", worker " << (s.worker_id.empty() ? "-" : s.worker_id) << ", "
              << s.attempts << (s.attempts == 1 ? " attempt" : " attempts") << ")\n";
    if (!s.status.ok()) std::cout << "    error: " << s.status.ToString() << "\n";
    if (s.output.is_object() && s.output.contains("text") && s.output["text"].is_string()) {
      std::string text = s.output["text"];
      std::string line;
      for (char c : text) {
        if (c == '\n') {
          std::cout << "    | " << line << "\n";
          line.clear();
        } else {
          line += c;
        }
      }
      if (!line.empty()) std::cout << "    | " << line << "\n";
    } else if (!s.output.is_null()) {
      std::cout << "    " << s.output.dump() << "\n";
    }
  }
}

int Run(const RunFlags& flags) {
  // Tracing: the printout needs no exporter, so the default here is "none" unless configured.
  observability::TracingConfig base;
  base.exporter = "none";
  auto config = observability::TracingConfig::FromEnv(base);
  if (!config.ok()) {
    std::cerr << "minion: tracing configuration: " << config.status().ToString() << "\n";
    return 2;
  }
  if (!flags.exporter.empty()) config->exporter = flags.exporter;
  if (flags.sampling_ratio) config->sampling_ratio = *flags.sampling_ratio;
  if (!flags.service_name.empty()) config->service_name = flags.service_name;
  if (flags.ui) {
    // `minion serve` takes OTLP/HTTP on its query port too, so one URL serves both.
    const std::string otlp = "otlp-http";
    config->exporter = config->exporter.empty() || config->exporter == "none" ? otlp : config->exporter + "," + otlp;
    config->otlp_endpoint = flags.ui_url + "/v1/traces";
  }
  auto memory = std::make_unique<exporters::InMemorySpanExporter>();
  auto spans = memory->storage();
  std::vector<std::unique_ptr<sdk::SpanProcessor>> extra;
  extra.push_back(std::make_unique<sdk::SimpleSpanProcessor>(std::move(memory)));
  if (Status s = observability::InitGlobalTracer(*config, std::move(extra)); !s.ok()) {
    std::cerr << "minion: tracing: " << s.ToString() << "\n";
    return 2;
  }

  auto provider = llm::MakeProviderFromEnv();
  if (!provider.ok()) {
    std::cerr << "minion: LLM provider: " << provider.status().ToString() << "\n";
    return 2;
  }
  agents::CoordinatorOptions options;
  std::shared_ptr<transports::RedisStreamsProtocol> remote;
  std::vector<std::string> live;
  if (!TransportUrl(flags.transport).empty()) {
    auto connected = ConnectTransport(flags, &live);
    if (!connected.ok()) {
      std::cerr << "minion: transport: " << connected.status().ToString() << "\n";
      (void)observability::ShutdownTracer(std::chrono::seconds(1));
      return 2;
    }
    remote = std::move(connected).value();
    options.protocol = remote;
    options.builtin_workers = false;
    // Replies come back to this process's own stream: its id must differ from other runs'.
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    options.id = std::string("coordinator-") + host + "-" + std::to_string(getpid());
  }
  options.provider = std::shared_ptr<llm::Provider>(std::move(provider).value());
  options.ledger_path = flags.ledger;
  options.orchestrator.subtask_timeout = std::chrono::milliseconds(flags.timeout_ms);
  options.orchestrator.retry.max_attempts = flags.max_attempts;
  if (flags.planner == "auto") options.planner_mode = agents::PlannerMode::kAuto;
  else if (flags.planner == "llm") options.planner_mode = agents::PlannerMode::kLlm;
  if (!flags.workflow.empty()) {
    auto workflow = agents::DeclarativePlanner::FromFile(flags.workflow);
    if (!workflow.ok()) {
      std::cerr << "minion: " << workflow.status().ToString() << "\n";
      return 2;
    }
    options.workflow = std::shared_ptr<agents::Planner>(std::move(workflow).value());
  }
  auto coordinator = agents::Coordinator::Create(std::move(options));
  if (!coordinator.ok()) {
    std::cerr << "minion: " << coordinator.status().ToString() << "\n";
    return 2;
  }

  for (const auto& capability : live) {
    agents::WorkerMetadata remote_worker;
    remote_worker.agent_id = transports::RedisStreamsProtocol::CapabilityAgentId(capability);
    remote_worker.role = "remote";
    remote_worker.capabilities = {capability};
    (void)(*coordinator)->registry().Add(remote_worker);
  }

  agents::TaskRequest request;
  request.name = flags.name;
  request.type = flags.type;
  request.priority = flags.priority;
  request.description = flags.description;
  if (!flags.input.empty()) {
    // JSON when it parses as JSON, otherwise the text itself.
    auto parsed = nlohmann::json::parse(flags.input, nullptr, false);
    request.input = parsed.is_discarded() ? nlohmann::json(flags.input) : parsed;
  }

  // TRACEPARENT in the environment continues the caller's trace.
  propagation::EnvironmentCarrier carrier;
  trace::Context parent = propagation::DefaultPropagator().Extract(carrier, trace::Context());
  agents::TaskResult result = (*coordinator)->ExecuteTask(request, parent.HasSpan() ? &parent : nullptr);
  (void)(*coordinator)->Shutdown(std::chrono::seconds(10));
  if (remote) (void)remote->Shutdown(std::chrono::seconds(10));
  Status flushed = observability::ShutdownTracer(std::chrono::seconds(10));

  if (flags.json) {
    std::cout << result.ToJson().dump(2) << "\n";
  } else {
    PrintHuman(result);
  }
  if (!flags.no_tree) {
    auto collected = spans->GetSpans();
    if (collected.empty()) {
      std::cout << "\n(no spans recorded: tracing is disabled or this trace was not sampled)\n";
    } else {
      std::cout << "\nDistributed trace:\n" << exporters::FormatTraceTree(collected);
    }
  }
  if (!flushed.ok()) std::cerr << "minion: warning: " << flushed.ToString() << "\n";
  if (flags.ui && !result.trace_id.empty()) {
    std::cout << "\nTrace: " << flags.ui_url << "/trace/" << result.trace_id << "\n";
  }
  if (!result.ok()) {
    std::cerr << "minion: task failed: " << result.status.ToString() << "\n";
    if (remote && result.status.code() == StatusCode::kNotFound) {
      std::string names;
      for (const auto& c : live) names += (names.empty() ? "" : ", ") + c;
      std::cerr << "minion: capabilities offered by live workers: " << (names.empty() ? "(none)" : names) << "\n";
    }
    return 1;
  }
  return 0;
}

}  // namespace


Command AddRunCommand(CLI::App& app) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* run = app.add_subcommand("run", "Run one task and print its result and trace tree");
  run->footer(kFooter);
  run->add_option("--name", flags->name, "Task name (multiagent.task.name)")->required();
  run->add_option("--type", flags->type,
                  "Task type (multiagent.task.type); with the direct planner, the capability to route to")
      ->required();
  run->add_option("--priority", flags->priority, "Priority 1-10 (multiagent.task.priority)")
      ->check(CLI::Range(1, 10));
  run->add_option("--description", flags->description, "Longer description given to the workers");
  run->add_option("--input", flags->input, "Task input: JSON, or plain text");
  run->add_option("--workflow", flags->workflow, "Workflow file (YAML or JSON) listing subtasks and dependencies")
      ->check(CLI::ExistingFile);
  run->add_option("--planner", flags->planner,
                  "direct (type = capability), auto (direct, else ask the LLM for a plan) or llm")
      ->check(CLI::IsMember({"direct", "auto", "llm"}));
  run->add_option("--exporter", flags->exporter,
                  "Span exporters, comma-separated: otlp, otlp-http, jaeger, stdout, stdout-json, file, none");
  run->add_option("--sampling-ratio", flags->sampling_ratio, "Fraction of traces sampled, 0..1")
      ->check(CLI::Range(0.0, 1.0));
  run->add_option("--service-name", flags->service_name, "service.name of the spans");
  run->add_option("--ledger", flags->ledger, "SQLite file recording tasks, subtasks and steps (default: memory)");
  run->add_option("--timeout-ms", flags->timeout_ms, "Per-subtask timeout in milliseconds")->check(CLI::PositiveNumber);
  run->add_option("--max-attempts", flags->max_attempts, "Attempts per subtask, including the first")
      ->check(CLI::Range(1, 100));
  run->add_option("--transport", flags->transport.url,
                  "Dispatch to worker processes over redis://[user:password@]host:port/db "
                  "(default: $MINION_TRANSPORT; none: in-process workers)");
  run->add_option("--namespace", flags->transport.key_namespace, "Prefix of every Redis key");
  run->add_flag("--json", flags->json, "Print the result as JSON");
  run->add_flag("--no-trace-tree", flags->no_tree, "Do not print the trace tree");
  run->add_flag("--ui", flags->ui, "Export the trace to a running `minion serve` and print its URL");
  run->add_option("--ui-url", flags->ui_url, "Address of that `minion serve` (its --listen)")->capture_default_str();
  return Command{run, [flags] { return Run(*flags); }};
}

}  // namespace minion::cli
