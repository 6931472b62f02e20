// `minion run`: one task through the embedded runtime (in-process protocol, the five built-in
// workers, the offline LLM provider unless an endpoint is configured); prints the result and its
// trace tree.
#include <CLI/CLI.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "commands.h"
#include "interrupt.h"
#include "minion/agents/coordinator.h"
#include "minion/agents/planner.h"
#include "minion/agents/resume.h"
#include "minion/agents/runtime_builder.h"
#include "minion/common/env.h"
#include "minion/common/json.h"
#include "minion/common/text.h"
#include "minion/exporters/in_memory_exporter.h"
#include "minion/exporters/stdout_exporter.h"
#include "minion/llm/factory.h"
#include "minion/logging/logging.h"
#include "minion/observability/setup.h"
#include "minion/propagation/carriers.h"
#include "minion/propagation/from_env.h"
#include "minion/sdk/simple_span_processor.h"
#include "observe.h"
#include "transport.h"
#include "worker_tools.h"

namespace minion::cli {
namespace {

constexpr const char* kFooter = R"(
Tracing configuration (flags win over the environment):
  TRACING_ENABLED, TRACING_EXPORTER, OTLP_ENDPOINT, SAMPLING_RATIO, JAEGER_URL, SERVICE_NAME,
  ENVIRONMENT                      the seed's variables
  OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT,
  OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_PROPAGATORS
                                   the OpenTelemetry ones (they win over the seed's); a bad
                                   value is reported and its default used
  TRACEPARENT / TRACESTATE / BAGGAGE (and B3 / X_B3_* / UBER_TRACE_ID with OTEL_PROPAGATORS)
                                   continue the caller's trace (as environment variables)
The trace tree printed after the result is collected in memory alongside the configured
exporter (default: none besides the printout).

LLM configuration (default: the offline provider, deterministic and without network):
  MINION_LLM_PROVIDER, MINION_LLM_BASE_URL or OPENAI_BASE_URL, MINION_LLM_API_KEY or
  OPENAI_API_KEY, MINION_LLM_MODEL, MINION_LLM_TIMEOUT_MS, MINION_LLM_MAX_RETRIES

Built-in workers and their capabilities (--type picks one directly; --workers FILE replaces them):
  coder-1       code_generation code_review debugging refactoring
  analyst-1     data_analysis statistical_analysis forecasting visualization
  researcher-1  research information_gathering synthesis summarization
  writer-1      content_creation editing copywriting technical_writing
  reviewer-1    code_review content_review quality_assurance testing

Examples:
  minion run --name "Generate REST API" --type code_generation --priority 8
  minion run --name "Ship feature" --type workflow --workflow examples/workflow.yaml
  OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 minion run ...
Signals: the first SIGINT, SIGTERM or SIGHUP cancels the task, prints what is known, flushes
spans (bounded) and exits with 128 + the signal number; a second one exits at once.
Exit status: 0 when the task succeeded, 1 when it failed or its result could not be written,
2 for bad flags or configuration, 128 + N after signal N.
)";

// How long spans may take to leave after the result is printed.
constexpr std::chrono::seconds kFlushTimeout{10};
constexpr std::chrono::seconds kFlushTimeoutInterrupted{3};

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
  std::string prices;  // --prices FILE: model -> USD per million input/output tokens
  std::string
      workers_file;  // --workers FILE: the workers (agents/worker_config.h) instead of the five
  int timeout_ms = 60000;
  int max_attempts = 3;
  int max_parallel = 4;          // OrchestratorOptions::max_parallel
  int initial_backoff_ms = 100;  // RetryPolicy::initial_backoff
  int max_backoff_ms = 5000;     // RetryPolicy::max_backoff
  bool json = false;
  bool no_tree = false;
  bool ui = false;                                // --ui: export to a running `minion serve`
  std::string ui_url = "http://127.0.0.1:16686";  // its --listen address
  TransportFlags transport;
  ObserveFlags observe;
  ToolFlags tools;
  std::string resume_task_id;  // `minion resume TASK_ID`: continue that task from --ledger
};

// With a networked transport the coordinator's workers are other processes: route each live
// capability to its shared stream (any worker process offering it takes the subtask).
Result<std::shared_ptr<transports::RedisStreamsProtocol>> ConnectTransport(
    const RunFlags& flags, std::vector<std::string>* live) {
  MINION_ASSIGN_OR_RETURN(auto options, RedisOptions(flags.transport));
  MINION_ASSIGN_OR_RETURN(auto protocol, transports::RedisStreamsProtocol::Connect(options));
  MINION_ASSIGN_OR_RETURN(auto workers, protocol->ListWorkers());
  std::set<std::string> caps;
  for (const auto& w : workers) caps.insert(w.capabilities.begin(), w.capabilities.end());
  live->assign(caps.begin(), caps.end());
  return std::shared_ptr<transports::RedisStreamsProtocol>(std::move(protocol));
}

// "12 in / 34 out tokens, 2 LLM calls, $0.000123" or "cost unknown (no price for gpt-x)".
std::string UsageLine(const agents::Usage& usage, const agents::Cost& cost) {
  std::string line = std::to_string(usage.input_tokens()) + " in / " +
                     std::to_string(usage.output_tokens()) + " out tokens, " +
                     std::to_string(usage.llm_calls()) +
                     (usage.llm_calls() == 1 ? " LLM call, " : " LLM calls, ");
  if (cost.usd) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "$%.6f", *cost.usd);
    return line + buf;
  }
  std::string models;
  for (const auto& m : cost.unpriced_models) models += (models.empty() ? "" : ", ") + m;
  return line + "cost unknown (no price for " + text::EscapeControl(models) + "; see --prices)";
}

// Human output: everything that came from the task, a worker or a model is escaped
// (text::EscapeControl), so it cannot drive the terminal; --json output is exact instead.
void PrintHuman(const agents::TaskResult& r) {
  using text::EscapeControl;
  std::cout << "Task " << r.task_id << ": " << r.status_name() << " in "
            << static_cast<double>(r.duration.count()) / 1e6 << " ms (planner: " << r.planner
            << (r.replanned ? ", replanned" : "") << ")\n";
  if (!r.ok()) std::cout << "  error: " << EscapeControl(r.status.ToString()) << "\n";
  if (!r.resumed_trace_id.empty() || r.reused_subtasks > 0) {
    std::cout << "  resumed: " << r.reused_subtasks
              << " finished subtasks reused from the interrupted run"
              << (r.resumed_trace_id.empty() ? "" : " (trace " + r.resumed_trace_id + ")") << "\n";
  }
  std::cout << "  usage: " << UsageLine(r.usage, r.cost) << "\n";
  for (const auto& s : r.subtasks) {
    std::cout << "  [" << (s.status.ok() ? "succeeded" : "failed") << "] " << EscapeControl(s.name)
              << " (capability " << EscapeControl(s.capability) << ", worker "
              << (s.worker_id.empty() ? "-" : EscapeControl(s.worker_id)) << ", " << s.attempts
              << (s.attempts == 1 ? " attempt" : " attempts") << (s.reused ? ", reused" : "")
              << ")\n";
    if (!s.status.ok()) std::cout << "    error: " << EscapeControl(s.status.ToString()) << "\n";
    std::cout << "    usage: " << UsageLine(s.usage, s.cost) << "\n";
    if (s.output.is_object() && s.output.contains("text") && s.output["text"].is_string()) {
      const std::string& text = s.output["text"].get_ref<const std::string&>();
      std::size_t start = 0;
      while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::cout << "    | " << EscapeControl(std::string_view(text).substr(start, end - start))
                  << "\n";
        start = end + 1;
      }
    } else if (!s.output.is_null()) {
      std::cout << "    " << EscapeControl(DumpJson(s.output)) << "\n";
    }
    if (s.output.is_object() && s.output.contains("files") && s.output["files"].is_array()) {
      for (const auto& file : s.output["files"]) {
        if (file.is_string())
          std::cout << "    file: " << EscapeControl(file.get<std::string>()) << "\n";
      }
    }
  }
}

// The propagator OTEL_PROPAGATORS names (default tracecontext,baggage); a bad list is
// reported and the default used, as for every standard variable.
const trace::TextMapPropagator& ConfiguredPropagator(
    std::unique_ptr<trace::TextMapPropagator>& holder) {
  auto made = propagation::MakePropagatorFromEnv();
  if (made.ok()) {
    holder = std::move(made).value();
    return *holder;
  }
  env::Warn("OTEL_PROPAGATORS: " + made.status().message() + "; using " +
            std::string(propagation::kDefaultPropagators));
  return propagation::DefaultPropagator();
}

// Cancels the running task from the signal thread. The mutex also makes the main thread's own
// Shutdown wait for one already under way there before it destroys the coordinator.
struct CancelTarget {
  std::mutex mu;
  agents::Coordinator* coordinator = nullptr;  // guarded by mu
};

int Run(const RunFlags& flags) {
  if (flags.max_backoff_ms < flags.initial_backoff_ms) {
    std::cerr << "minion: --max-backoff (" << flags.max_backoff_ms
              << " ms) is below --initial-backoff (" << flags.initial_backoff_ms << " ms)\n";
    return 2;
  }
  // First, before any thread exists: every thread started below inherits the blocked signals,
  // and the watcher thread alone receives them.
  auto cancel = std::make_shared<CancelTarget>();
  InterruptWatcher interrupts([cancel](int) {
    std::lock_guard lock(cancel->mu);
    // Grace 0: the running subtasks get cancel messages now (the existing cancel path).
    if (cancel->coordinator != nullptr)
      (void)cancel->coordinator->Shutdown(std::chrono::milliseconds(0));
  });

  if (Status s = StartLogging(flags.observe); !s.ok()) {
    std::cerr << "minion: logging: " << s.ToString() << "\n";
    return 2;
  }
  struct LoggingStop {
    ~LoggingStop() { logging::Shutdown(); }
  } logging_stop;
  std::shared_ptr<metrics::PrometheusMetrics> metrics;
  if (!flags.observe.metrics_file.empty()) metrics = StartMetrics();
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
    config->exporter = config->exporter.empty() || config->exporter == "none"
                           ? otlp
                           : config->exporter + "," + otlp;
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
  auto resilience_config = LoadResilience(flags.observe);
  if (!resilience_config.ok()) {
    std::cerr << "minion: " << resilience_config.status().ToString() << "\n";
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
    options.protocol = remote;  // the workers are other processes: no built-in ones here
    // Replies come back to this process's own stream: its id must differ from other runs'.
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    options.id = std::string("coordinator-") + host + "-" + std::to_string(getpid());
  }
  options.provider = GuardProvider(std::shared_ptr<llm::Provider>(std::move(provider).value()),
                                   *resilience_config);
  options.orchestrator.subtask_timeout = std::chrono::milliseconds(flags.timeout_ms);
  options.orchestrator.retry.max_attempts = flags.max_attempts;
  options.orchestrator.max_parallel = static_cast<std::size_t>(flags.max_parallel);
  options.orchestrator.retry.initial_backoff = std::chrono::milliseconds(flags.initial_backoff_ms);
  options.orchestrator.retry.max_backoff = std::chrono::milliseconds(flags.max_backoff_ms);
  if (flags.planner == "auto")
    options.planner_mode = agents::PlannerMode::kAuto;
  else if (flags.planner == "llm")
    options.planner_mode = agents::PlannerMode::kLlm;
  if (!flags.workflow.empty()) {
    auto workflow = agents::DeclarativePlanner::FromFile(flags.workflow);
    if (!workflow.ok()) {
      std::cerr << "minion: " << workflow.status().ToString() << "\n";
      return 2;
    }
    options.workflow = std::shared_ptr<agents::Planner>(std::move(workflow).value());
  }
  // The built-in workers are made here, with their tools, rather than by BuildCoordinator.
  auto worker_tools = BuildWorkerTools(flags.tools);
  if (!worker_tools.ok()) {
    std::cerr << "minion: " << worker_tools.status().ToString() << "\n";
    return 2;
  }
  if (!flags.workers_file.empty() && remote != nullptr) {
    std::cerr << "minion: --workers declares in-process workers; with --transport the workers are "
                 "other processes (`minion worker`)\n";
    return 2;
  }
  if (!flags.workers_file.empty()) {
    agents::WorkerOptions wo = options.worker_options;
    if (!wo.tracer) wo.tracer = options.tracer;
    if (!wo.clock) wo.clock = options.clock;
    auto workers = BuildWorkersFromFile(flags.workers_file, options.provider, *resilience_config,
                                        *worker_tools, std::move(wo));
    if (!workers.ok()) {
      std::cerr << "minion: " << workers.status().ToString() << "\n";
      return 2;
    }
    options.workers = std::move(workers).value();
  } else if (remote == nullptr) {  // a remote transport's workers are other processes
    for (agents::BuiltinKind kind : agents::kAllBuiltinKinds) {
      agents::WorkerOptions wo = options.worker_options;
      if (!wo.tracer) wo.tracer = options.tracer;
      if (!wo.clock) wo.clock = options.clock;
      options.workers.push_back(
          agents::MakeBuiltinWorker(kind, options.provider, {}, std::move(wo), *worker_tools));
    }
  }
  if (!flags.prices.empty()) {
    auto prices = agents::PriceTable::Load(flags.prices);
    if (!prices.ok()) {
      std::cerr << "minion: --prices: " << prices.status().ToString() << "\n";
      return 2;
    }
    options.prices = std::make_shared<const agents::PriceTable>(std::move(prices).value());
  }
  if (!flags.resume_task_id.empty()) {
    // Resume never creates a ledger: a mistyped path is an error, not an empty ledger.
    struct stat st {};
    if (flags.ledger.empty() || ::stat(flags.ledger.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      std::cerr << "minion: resume: no ledger file at '" << text::EscapeControl(flags.ledger)
                << "' (give the --ledger PATH the interrupted `minion run` wrote)\n";
      return 2;
    }
  }
  agents::RuntimeDefaults defaults;
  defaults.ledger_path = flags.ledger;
  defaults.builtin_workers = false;
  auto coordinator = agents::BuildCoordinator(std::move(options), std::move(defaults));
  if (!coordinator.ok()) {
    std::cerr << "minion: " << coordinator.status().ToString() << "\n";
    return 2;
  }
  {
    std::lock_guard lock(cancel->mu);
    cancel->coordinator = coordinator->get();
  }

  for (const auto& capability : live) {
    agents::WorkerMetadata remote_worker;
    remote_worker.agent_id = transports::RedisStreamsProtocol::CapabilityAgentId(capability);
    remote_worker.role = "remote";
    remote_worker.capabilities = {capability};
    (void)(*coordinator)->registry().Add(remote_worker);
  }
  if (metrics) WatchCoordinator(*metrics, **coordinator);

  std::optional<agents::ResumeRequest> resume;
  if (!flags.resume_task_id.empty()) {
    auto loaded = agents::LoadResumeRequest((*coordinator)->ledger(), flags.resume_task_id);
    if (!loaded.ok()) {
      std::cerr << "minion: resume: " << text::EscapeControl(loaded.status().ToString()) << "\n";
      return 2;
    }
    resume = std::move(loaded).value();
  }

  agents::TaskRequest request;
  request.name = flags.name;
  request.type = flags.type;
  request.priority = flags.priority;
  request.description = flags.description;
  if (!flags.input.empty()) {
    // JSON when it parses as JSON, otherwise the text itself; JSON nested too deeply is refused
    // rather than taken as text (it was meant as JSON, and would overflow the stack later).
    auto parsed = ParseJson(flags.input, "--input");
    if (parsed.ok()) {
      request.input = std::move(parsed).value();
    } else if (JsonNestsDeeperThan(flags.input)) {
      std::cerr << "minion: " << parsed.status().ToString() << "\n";
      return 2;
    } else {
      request.input = nlohmann::json(flags.input);
    }
  }

  // TRACEPARENT (or what OTEL_PROPAGATORS reads) in the environment continues the caller's trace.
  std::unique_ptr<trace::TextMapPropagator> propagator_holder;
  const trace::TextMapPropagator& propagator = ConfiguredPropagator(propagator_holder);
  propagation::EnvironmentCarrier carrier;
  trace::Context parent = propagator.Extract(carrier, trace::Context());
  agents::TaskResult result =
      interrupts.signal() != 0 ? agents::TaskResult{}
      : resume ? (*coordinator)->ResumeTask(*resume, parent.HasSpan() ? &parent : nullptr)
               : (*coordinator)->ExecuteTask(request, parent.HasSpan() ? &parent : nullptr);
  // Written while the coordinator still runs: the collect hook reads its workers and ledger.
  if (metrics) {
    logging::Flush();
    if (Status s = metrics->WriteFile(flags.observe.metrics_file); !s.ok()) {
      std::cerr << "minion: " << s.ToString() << "\n";
    }
  }
  {
    std::lock_guard lock(cancel->mu);
    (void)(*coordinator)->Shutdown(std::chrono::seconds(10));
    cancel->coordinator = nullptr;
  }
  if (remote) (void)remote->Shutdown(std::chrono::seconds(10));
  const int signo = interrupts.signal();
  if (signo != 0 && result.task_id.empty()) {
    result.status = CancelledError(std::string("interrupted by ") + SignalName(signo) +
                                   " before the task started");
  }

  // The answer first: telemetry must not hold it up (a dead collector can take the whole flush
  // timeout) nor lose it.
  if (flags.json) {
    std::cout << DumpJson(result.ToJson(), 2) << "\n";
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
  if (flags.ui && !result.trace_id.empty()) {
    std::cout << "\nTrace: " << flags.ui_url << "/trace/" << result.trace_id << "\n";
  }
  std::cout.flush();
  const bool written = static_cast<bool>(std::cout);
  const int write_errno = errno;
  if (!written) {
    std::cerr << "minion: cannot write the result to standard output: "
              << std::strerror(write_errno) << "\n";
  }

  const auto flush_timeout =
      interrupts.signal() != 0
          ? std::chrono::duration_cast<std::chrono::milliseconds>(kFlushTimeoutInterrupted)
          : std::chrono::duration_cast<std::chrono::milliseconds>(kFlushTimeout);
  Status flushed = observability::ShutdownTracer(flush_timeout);
  if (!flushed.ok()) std::cerr << "minion: warning: " << flushed.ToString() << "\n";
  if (!result.ok()) {
    std::cerr << "minion: task failed: " << text::EscapeControl(result.status.ToString()) << "\n";
    if (remote && result.status.code() == StatusCode::kNotFound) {
      std::string names;
      for (const auto& c : live) names += (names.empty() ? "" : ", ") + c;
      std::cerr << "minion: capabilities offered by live workers: "
                << (names.empty() ? "(none)" : names) << "\n";
    }
  }
  if (const int s = interrupts.signal(); s != 0) return 128 + s;
  if (!written) return 1;
  return result.ok() ? 0 : 1;
}

constexpr const char* kResumeFooter = R"(
A task recorded by `minion run --ledger PATH` that did not finish (the process was killed, the
machine stopped, or the task failed) continues under the same task id: subtasks that succeeded
keep their recorded outputs, which feed their dependents as before, and are not run again;
the others (pending, running at the crash, failed, skipped) run now. The ledger row is updated
in place, so `minion runs show TASK_ID` shows the finished run. The resumed run is a new trace
whose task span links to the interrupted one (attribute minion.resume.of_task).
Refused (exit 2): an unknown task, a task that already succeeded, a task with no stored plan
or a truncated one, a replanned run, a ledger newer than this minion.
Exit status: 0 when the task succeeded, 1 when it failed, 2 when it could not be resumed or
for bad flags, 128 + N after signal N.
)";

}  // namespace

static void AddRunOptions(CLI::App* run, const std::shared_ptr<RunFlags>& flags);

Command AddRunCommand(CLI::App& app) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* run = app.add_subcommand("run", "Run one task and print its result and trace tree");
  run->footer(kFooter);
  run->add_option("--name", flags->name, "Task name (multiagent.task.name)")->required();
  run->add_option(
         "--type", flags->type,
         "Task type (multiagent.task.type); with the direct planner, the capability to route to")
      ->required();
  run->add_option("--priority", flags->priority, "Priority 1-10 (multiagent.task.priority)")
      ->check(CLI::Range(1, 10));
  run->add_option("--description", flags->description, "Longer description given to the workers");
  run->add_option("--input", flags->input, "Task input: JSON, or plain text");
  run->add_option("--workflow", flags->workflow,
                  "Workflow file (YAML or JSON) listing subtasks and dependencies")
      ->check(CLI::ExistingFile);
  run->add_option("--planner", flags->planner,
                  "direct (type = capability), auto (direct, else ask the LLM for a plan) or llm")
      ->check(CLI::IsMember({"direct", "auto", "llm"}));
  AddRunOptions(run, flags);
  return Command{run, [flags] { return Run(*flags); }};
}

// `minion resume TASK_ID --ledger PATH`: the task's request and plan come from the ledger; the
// provider, worker, tracing and retry flags are `run`'s.
Command AddResumeCommand(CLI::App& app) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* resume = app.add_subcommand(
      "resume", "Continue an interrupted task from its ledger: only its unfinished subtasks run");
  resume->footer(kResumeFooter);
  resume->add_option("task_id", flags->resume_task_id, "The task id (from `minion runs list`)")
      ->required();
  AddRunOptions(resume, flags);
  resume->get_option("--ledger")->required();
  return Command{resume, [flags] { return Run(*flags); }};
}

// The flags `run` and `resume` share.
static void AddRunOptions(CLI::App* run, const std::shared_ptr<RunFlags>& flags) {
  run->add_option(
      "--exporter", flags->exporter,
      "Span exporters, comma-separated: otlp, otlp-http, jaeger, stdout, stdout-json, file, none");
  run->add_option("--sampling-ratio", flags->sampling_ratio, "Fraction of traces sampled, 0..1")
      ->check(CLI::Range(0.0, 1.0));
  run->add_option("--service-name", flags->service_name, "service.name of the spans");
  run->add_option("--ledger", flags->ledger,
                  "SQLite file recording tasks, subtasks and steps (default: memory)");
  run->add_option("--prices", flags->prices,
                  "JSON price table: model -> {input_per_million, output_per_million} in USD "
                  "(examples/prices.json); without it cost is unknown except for the offline model")
      ->check(CLI::ExistingFile);
  run->add_option(
         "--workers", flags->workers_file,
         "Workers declared in a YAML (or JSON) file, replacing the five built-in ones: kind or "
         "command, capabilities, provider, model, tools, concurrency (examples/workers.yaml)")
      ->check(CLI::ExistingFile);
  run->add_option("--timeout-ms", flags->timeout_ms, "Per-subtask timeout in milliseconds")
      ->check(CLI::PositiveNumber);
  run->add_option("--max-attempts", flags->max_attempts,
                  "Attempts per subtask, including the first")
      ->check(CLI::Range(1, 100));
  run->add_option("--max-parallel", flags->max_parallel, "Subtasks of the task in flight at once")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  run->add_option("--initial-backoff", flags->initial_backoff_ms,
                  "Delay before the first retry, in milliseconds")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  run->add_option("--max-backoff", flags->max_backoff_ms,
                  "Longest delay between retries, in milliseconds")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  run->add_option("--transport", flags->transport.url,
                  "Dispatch to worker processes over redis://[user:password@]host:port/db "
                  "(default: $MINION_TRANSPORT; none: in-process workers)");
  run->add_option("--namespace", flags->transport.key_namespace, "Prefix of every Redis key");
  AddToolFlags(run, &flags->tools);
  run->add_flag("--json", flags->json, "Print the result as JSON");
  run->add_flag("--no-trace-tree", flags->no_tree, "Do not print the trace tree");
  run->add_flag("--ui", flags->ui,
                "Export the trace to a running `minion serve` and print its URL");
  run->add_option("--ui-url", flags->ui_url, "Address of that `minion serve` (its --listen)")
      ->capture_default_str();
  AddObserveFlags(*run, flags->observe);
}

}  // namespace minion::cli
