#pragma once
// Coordinator: the front door of the multi-agent runtime. It is given its pieces (a protocol,
// optionally a ledger, workers and an LLM provider for the LLM planner), keeps the worker
// registry, chooses a planner per task and hands the task to the Orchestrator. It builds no
// concrete transport, ledger or worker itself: BuildCoordinator (runtime_builder.h) assembles
// the defaults `minion run` uses. Each ExecuteTask opens the root span `multiagent.task.<type>` (or
// a child of the caller's context) with multiagent.task.id/name/type/priority and
// multiagent.subtask.count; a failed task ends it with ERROR and an exception event.
//
//   CoordinatorOptions options;
//   options.protocol = std::make_shared<InMemoryProtocol>();
//   options.owns_protocol = true;
//   auto coordinator = Coordinator::Create(std::move(options)).value();
//   TaskResult r = coordinator->ExecuteTask({.name = "Generate REST API",
//                                            .type = "code_generation", .priority = 8});
//
// Thread-safe: ExecuteTask may be called from many threads at once.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "minion/agents/ledger.h"
#include "minion/agents/orchestrator.h"
#include "minion/agents/planner.h"
#include "minion/agents/registry.h"
#include "minion/agents/worker.h"
#include "minion/llm/provider.h"

namespace minion::agents {

enum class PlannerMode {
  kDirect,  // task type = capability; anything else fails naming the capability
  kAuto,    // direct when a worker offers the type, otherwise the LLM planner (needs a provider)
  kLlm,     // always the LLM planner
};

struct CoordinatorOptions {
  std::string id = "coordinator";
  // Required: the transport between the orchestrator and the workers (in-process, Redis, ...).
  std::shared_ptr<Protocol> protocol;
  // Shut the protocol down in Coordinator::Shutdown (when the coordinator is its only user).
  bool owns_protocol = false;
  // Where tasks, subtasks and steps are recorded; null: orchestrator.ledger, else in memory.
  std::shared_ptr<Ledger> ledger;
  // Started and registered by Create (ids must be unique). More can be added later with
  // RegisterWorker / CreateWorker.
  std::vector<std::shared_ptr<Worker>> workers;
  OrchestratorOptions orchestrator;
  // Optional: only the LLM planner needs one (planner_mode kAuto / kLlm without a workflow).
  std::shared_ptr<llm::Provider> provider;
  WorkerOptions worker_options;  // for workers made by CreateWorker
  PlannerMode planner_mode = PlannerMode::kDirect;
  // When set, every task uses this plan (a workflow file) instead of the modes above.
  std::shared_ptr<Planner> workflow;
  std::shared_ptr<trace::Tracer> tracer;  // null: observability::GetTracer() at each span
  Clock* clock = nullptr;                 // null: SystemClock()
  // Prices the task's usage into TaskResult::cost and minion.usage.cost_usd on the task span.
  // Null: cost unknown (only the offline provider's calls are known to cost 0).
  std::shared_ptr<const PriceTable> prices;
};

struct TaskResult {
  std::string task_id;
  std::string trace_id;  // hex; empty when the task span carried no valid context
  Status status;         // OK when every subtask succeeded
  std::string planner;
  bool replanned = false;
  std::vector<SubtaskOutcome> subtasks;
  UnixNanos started_at = 0;
  UnixNanos finished_at = 0;
  std::chrono::nanoseconds duration{0};
  Usage usage;  // every LLM call of every accepted subtask reply (ExecutionResult::usage)
  Cost cost;    // usage priced with CoordinatorOptions::prices; usd unknown without a price
  // Set by ResumeTask: the interrupted run's task span (trace id, 32 hex) and how many of the
  // plan's subtasks were reused from it.
  std::string resumed_trace_id;
  std::string resumed_span_id;
  std::size_t reused_subtasks = 0;

  bool ok() const { return status.ok(); }
  std::string_view status_name() const { return status.ok() ? "succeeded" : "failed"; }
  nlohmann::json ToJson() const;
};

enum class HealthState { kHealthy, kDegraded, kUnhealthy };
std::string_view HealthStateName(HealthState state);

struct ComponentHealth {
  std::string component;  // "protocol", "orchestrator", "workers", "worker:<id>"
  HealthState state = HealthState::kHealthy;
  std::string detail;
};

struct HealthReport {
  HealthState overall = HealthState::kHealthy;  // the worst component
  std::vector<ComponentHealth> components;
};

// A task to continue from its interrupted run (resume.h builds one from a ledger).
struct ResumeRequest {
  std::string task_id;  // the interrupted task's id: its ledger rows are updated in place
  TaskRequest request;  // as recorded
  Plan plan;            // the interrupted run's plan, run again without state.completed
  ResumeState state;
  // The interrupted run's task span: the new task span links to it (attribute
  // minion.resume.of_task). Invalid (not recorded): no link.
  trace::SpanContext interrupted;
};

struct CoordinatorStats {
  std::uint64_t tasks_started = 0;
  std::uint64_t tasks_succeeded = 0;
  std::uint64_t tasks_failed = 0;
  std::uint64_t tasks_in_flight = 0;
  std::size_t workers = 0;
};

class Coordinator {
 public:
  // Starts the orchestrator on options.protocol and registers options.workers. InvalidArgument
  // without a protocol, or when the chosen planner mode needs a provider and has none.
  static Result<std::unique_ptr<Coordinator>> Create(CoordinatorOptions options);
  ~Coordinator();  // Shutdown() if the owner did not
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Starts `worker` on the protocol and makes it routable.
  Status RegisterWorker(std::shared_ptr<Worker> worker);
  // Stops routing to it and stops it (its running subtasks finish first).
  Status UnregisterWorker(const std::string& agent_id);
  // Builds, registers and returns a worker around `handler` (custom workers).
  Result<std::shared_ptr<Worker>> CreateWorker(WorkerMetadata metadata,
                                               std::unique_ptr<TaskHandler> handler);
  Result<std::shared_ptr<Worker>> CreateWorker(WorkerMetadata metadata, TaskFunction function);

  // Runs one task to completion. `parent` continues the caller's trace (else the thread's
  // current context). Never throws; failures are in the result's status.
  // `task_id` (multiagent.task.id): empty, the coordinator makes one ("task-<32 hex>"); a caller
  // that must name the task before it runs (the HTTP API's 202) passes its own.
  TaskResult ExecuteTask(const TaskRequest& request, const trace::Context* parent = nullptr,
                         std::string_view task_id = {});
  // Continues an interrupted task: its stored plan runs again (through a DeclarativePlanner) with
  // the finished subtasks carried over instead of dispatched. A new trace (or a child of `parent`)
  // whose task span links to the interrupted one.
  TaskResult ResumeTask(const ResumeRequest& resume, const trace::Context* parent = nullptr);

  std::vector<WorkerMetadata> ListWorkers() const { return registry_.List(); }
  CoordinatorStats Stats() const;
  HealthReport HealthCheck() const;

  // Rejects new tasks, gives running ones `grace` to finish (then cancels them with a clear
  // error), stops the workers and, when it owns it, the protocol. Idempotent.
  Status Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(10));

  Protocol& protocol() { return *protocol_; }
  Ledger& ledger() { return orchestrator_->ledger(); }
  WorkerRegistry& registry() { return registry_; }

 private:
  explicit Coordinator(CoordinatorOptions options);
  Planner& ChoosePlanner(const TaskRequest& request);
  TaskResult Execute(const TaskRequest& request, const trace::Context* parent,
                     std::string_view task_id, const ResumeRequest* resume);

  CoordinatorOptions options_;
  std::shared_ptr<trace::Tracer> tracer_;
  Clock* clock_;
  std::shared_ptr<Protocol> protocol_;
  bool owns_protocol_ = false;
  WorkerRegistry registry_;
  std::unique_ptr<Orchestrator> orchestrator_;
  DirectPlanner direct_planner_;
  std::unique_ptr<LlmPlanner> llm_planner_;

  std::mutex workers_mu_;
  std::vector<std::shared_ptr<Worker>> workers_;  // guarded by workers_mu_

  std::atomic<bool> accepting_{true};
  std::atomic<bool> shut_down_{false};
  std::atomic<std::uint64_t> started_{0};
  std::atomic<std::uint64_t> succeeded_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> in_flight_{0};
};

}  // namespace minion::agents
