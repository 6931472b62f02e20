#include "minion/agents/coordinator.h"

#include "minion/logging/log_context.h"
#include "minion/logging/logging.h"
#include "minion/metrics/recorder.h"

#include <algorithm>

#include "minion/trace/ids.h"

namespace minion::agents {
namespace {

HealthState Worst(HealthState a, HealthState b) {
  return static_cast<int>(a) > static_cast<int>(b) ? a : b;
}

}  // namespace

std::string_view HealthStateName(HealthState state) {
  switch (state) {
    case HealthState::kHealthy:
      return "healthy";
    case HealthState::kDegraded:
      return "degraded";
    case HealthState::kUnhealthy:
      return "unhealthy";
  }
  return "unknown";
}

namespace {

// {"input_tokens", "output_tokens", "llm_calls", "cost_usd": <number or null>,
//  "unpriced_models": [...] (only when cost is unknown), "by_model": [...]}
nlohmann::json UsageJson(const Usage& usage, const Cost& cost) {
  nlohmann::json j = {{"input_tokens", usage.input_tokens()},
                      {"output_tokens", usage.output_tokens()},
                      {"llm_calls", usage.llm_calls()},
                      {"cost_usd", cost.usd ? nlohmann::json(*cost.usd) : nlohmann::json(nullptr)},
                      {"by_model", EncodeUsage(usage)}};
  if (!cost.usd) j["unpriced_models"] = cost.unpriced_models;
  return j;
}

}  // namespace

nlohmann::json TaskResult::ToJson() const {
  nlohmann::json subtasks_json = nlohmann::json::array();
  for (const auto& s : subtasks) {
    nlohmann::json j = {
        {"subtask_id", s.subtask_id},
        {"name", s.name},
        {"capability", s.capability},
        {"worker_id", s.worker_id},
        {"status", s.status.ok() ? "succeeded" : "failed"},
        {"attempts", s.attempts},
        {"output", s.output},
        {"duration_ms", s.finished_at > s.started_at ? (s.finished_at - s.started_at) / 1e6 : 0.0}};
    if (!s.status.ok()) j["error"] = s.status.ToString();
    j["usage"] = UsageJson(s.usage, s.cost);
    if (s.reused) j["reused"] = true;
    subtasks_json.push_back(std::move(j));
  }
  nlohmann::json j = {{"task_id", task_id},
                      {"trace_id", trace_id},
                      {"status", status_name()},
                      {"planner", planner},
                      {"replanned", replanned},
                      {"duration_ms", duration.count() / 1e6},
                      {"started_at", started_at},
                      {"finished_at", finished_at},
                      {"subtasks", std::move(subtasks_json)},
                      {"usage", UsageJson(usage, cost)}};
  if (!status.ok()) j["error"] = status.ToString();
  if (!resumed_trace_id.empty() || reused_subtasks > 0) {
    j["resumed"] = {{"trace_id", resumed_trace_id},
                    {"span_id", resumed_span_id},
                    {"reused_subtasks", reused_subtasks}};
  }
  return j;
}

Coordinator::Coordinator(CoordinatorOptions options)
    : options_(std::move(options)),
      tracer_(options_.tracer),
      clock_(options_.clock ? options_.clock : &SystemClock()) {}

Result<std::unique_ptr<Coordinator>> Coordinator::Create(CoordinatorOptions options) {
  if (!options.protocol) {
    return InvalidArgumentError("coordinator '" + options.id +
                                "' needs a protocol (CoordinatorOptions::protocol)");
  }
  if (options.planner_mode != PlannerMode::kDirect && !options.provider && !options.workflow) {
    return InvalidArgumentError(
        "the LLM planner needs an llm::Provider (CoordinatorOptions::provider)");
  }
  if (options.ledger && options.orchestrator.ledger &&
      options.ledger != options.orchestrator.ledger) {
    return InvalidArgumentError(
        "two different ledgers given (CoordinatorOptions::ledger and orchestrator.ledger)");
  }
  std::unique_ptr<Coordinator> c(new Coordinator(std::move(options)));
  auto& o = c->options_;
  c->protocol_ = o.protocol;
  c->owns_protocol_ = o.owns_protocol;
  OrchestratorOptions orch = o.orchestrator;
  if (orch.id == "orchestrator") orch.id = o.id + ".orchestrator";
  if (!orch.tracer) orch.tracer = c->tracer_;
  if (!orch.clock) orch.clock = c->clock_;
  if (o.ledger) orch.ledger = o.ledger;
  if (!orch.prices) orch.prices = o.prices;  // the ledger records cost too
  c->orchestrator_ = std::make_unique<Orchestrator>(*c->protocol_, c->registry_, std::move(orch));
  MINION_RETURN_IF_ERROR(c->orchestrator_->Start());
  if (o.provider) c->llm_planner_ = std::make_unique<LlmPlanner>(o.provider);
  std::vector<std::shared_ptr<Worker>> workers = std::move(o.workers);
  o.workers.clear();
  for (auto& worker : workers) MINION_RETURN_IF_ERROR(c->RegisterWorker(std::move(worker)));
  return c;
}

Coordinator::~Coordinator() { (void)Shutdown(std::chrono::seconds(10)); }

Status Coordinator::RegisterWorker(std::shared_ptr<Worker> worker) {
  if (!worker) return InvalidArgumentError("worker is null");
  if (!accepting_.load()) return UnavailableError("coordinator '" + options_.id + "' is shut down");
  MINION_RETURN_IF_ERROR(worker->Start(*protocol_));
  Status s = registry_.Add(worker->metadata(), worker);
  if (!s.ok()) {
    (void)worker->Stop();
    return s;
  }
  metrics::GlobalRecorder().WorkerEvent("registered");
  std::lock_guard lock(workers_mu_);
  workers_.push_back(std::move(worker));
  return Status::Ok();
}

Status Coordinator::UnregisterWorker(const std::string& agent_id) {
  std::shared_ptr<Worker> worker = registry_.Find(agent_id);
  MINION_RETURN_IF_ERROR(registry_.Remove(agent_id));
  metrics::GlobalRecorder().WorkerEvent("unregistered");
  {
    std::lock_guard lock(workers_mu_);
    workers_.erase(std::remove(workers_.begin(), workers_.end(), worker), workers_.end());
  }
  return worker ? worker->Stop() : Status::Ok();
}

Result<std::shared_ptr<Worker>> Coordinator::CreateWorker(WorkerMetadata metadata,
                                                          std::unique_ptr<TaskHandler> handler) {
  WorkerOptions wo = options_.worker_options;
  if (!wo.tracer) wo.tracer = tracer_;
  if (!wo.clock) wo.clock = clock_;
  auto worker = std::make_shared<Worker>(std::move(metadata), std::move(handler), std::move(wo));
  MINION_RETURN_IF_ERROR(RegisterWorker(worker));
  return worker;
}

Result<std::shared_ptr<Worker>> Coordinator::CreateWorker(WorkerMetadata metadata,
                                                          TaskFunction function) {
  return CreateWorker(std::move(metadata), MakeFunctionHandler(std::move(function)));
}

Planner& Coordinator::ChoosePlanner(const TaskRequest& request) {
  if (options_.workflow) return *options_.workflow;
  switch (options_.planner_mode) {
    case PlannerMode::kLlm:
      if (llm_planner_) return *llm_planner_;
      break;
    case PlannerMode::kAuto:
      if (llm_planner_ && !registry_.Capabilities().count(request.type)) return *llm_planner_;
      break;
    case PlannerMode::kDirect:
      break;
  }
  return direct_planner_;
}

TaskResult Coordinator::ExecuteTask(const TaskRequest& request, const trace::Context* parent,
                                    std::string_view task_id) {
  return Execute(request, parent, task_id, nullptr);
}

TaskResult Coordinator::ResumeTask(const ResumeRequest& resume, const trace::Context* parent) {
  if (resume.task_id.empty()) {
    TaskResult result;
    result.status = InvalidArgumentError("resume: no task id");
    return result;
  }
  return Execute(resume.request, parent, resume.task_id, &resume);
}

TaskResult Coordinator::Execute(const TaskRequest& request, const trace::Context* parent,
                                std::string_view task_id, const ResumeRequest* resume) {
  TaskResult result;
  result.task_id = task_id.empty() ? "task-" + trace::DefaultIdGenerator().GenerateTraceId().ToHex()
                                   : std::string(task_id);
  result.started_at = clock_->Now();
  const auto start = clock_->MonotonicNanos();
  if (request.type.empty()) {
    result.status = InvalidArgumentError("task type is empty");
    return result;
  }
  if (!accepting_.load(std::memory_order_acquire)) {
    result.status =
        UnavailableError("coordinator '" + options_.id + "' is shutting down; task rejected");
    return result;
  }
  in_flight_.fetch_add(1);
  started_.fetch_add(1);
  metrics::GlobalRecorder().TaskStarted();

  const trace::Context current = parent ? trace::Context() : trace::Context::Current();
  auto [context, span] = observability::StartMultiAgentTaskSpan(
      observability::TracerOrGlobal(tracer_), parent ? *parent : current, result.task_id,
      request.name, request.type, request.priority);
  if (context.span_context().IsValid()) result.trace_id = context.span_context().trace_id().ToHex();
  std::unique_ptr<DeclarativePlanner> stored_plan;
  if (resume) {
    // A new trace for the new run, linked to the run it continues (the link, not a parent:
    // the interrupted trace is over and may be long gone from the backend).
    span.SetAttribute(observability::kAttrResumeOfTask, result.task_id);
    span.SetAttribute(observability::kAttrResumeReusedSubtasks,
                      static_cast<std::int64_t>(resume->state.completed.size()));
    if (resume->interrupted.IsValid()) {
      span.AddLink(resume->interrupted, {{observability::kAttrResumeOfTask, result.task_id}});
      result.resumed_trace_id = resume->interrupted.trace_id().ToHex();
      result.resumed_span_id = resume->interrupted.span_id().ToHex();
    }
    result.reused_subtasks = resume->state.completed.size();
    stored_plan = std::make_unique<DeclarativePlanner>(resume->plan);
  }
  Planner& planner = stored_plan ? *stored_plan : ChoosePlanner(request);
  ExecutionResult execution = orchestrator_->ExecuteTask(context, result.task_id, request, planner,
                                                         resume ? &resume->state : nullptr);
  span.SetAttribute(observability::kAttrSubtaskCount,
                    static_cast<std::int64_t>(execution.subtasks.size()));
  span.SetAttribute("minion.planner", execution.planner);
  result.status = std::move(execution.status);
  result.planner = std::move(execution.planner);
  if (resume && !resume->state.planner.empty()) result.planner = resume->state.planner;
  result.replanned = execution.replanned;
  result.subtasks = std::move(execution.subtasks);
  result.usage = std::move(execution.usage);
  {
    const PriceTable none;
    const PriceTable& prices = options_.prices ? *options_.prices : none;
    for (auto& s : result.subtasks) s.cost = prices.CostOf(s.usage);
    result.cost = prices.CostOf(result.usage);
    // minion_llm_cost_total{provider,model}: each priced model's share of this task's cost,
    // from the same usage and table as result.cost (a model without a price adds nothing).
    for (const auto& [model, model_usage] : result.usage.by_model) {
      Usage one;
      one.by_model.emplace(model, model_usage);
      const Cost cost = prices.CostOf(one);
      if (cost.usd && *cost.usd > 0)
        metrics::GlobalRecorder().LlmCost(model_usage.provider, model, *cost.usd);
    }
  }
  span.SetAttribute(observability::kAttrUsageInputTokens, result.usage.input_tokens());
  span.SetAttribute(observability::kAttrUsageOutputTokens, result.usage.output_tokens());
  span.SetAttribute(observability::kAttrUsageLlmCalls, result.usage.llm_calls());
  if (result.cost.usd) span.SetAttribute(observability::kAttrUsageCostUsd, *result.cost.usd);
  observability::EndSpan(span, result.status);

  result.finished_at = clock_->Now();
  result.duration = std::chrono::nanoseconds(clock_->MonotonicNanos() - start);
  metrics::GlobalRecorder().TaskFinished(request.type, result.status_name(),
                                         static_cast<double>(result.duration.count()) / 1e9);
  {
    const logging::ScopedLogContext log_context({result.task_id, options_.id, ""});
    const double ms = static_cast<double>(result.duration.count()) / 1e6;
    if (result.status.ok()) {
      logging::Log(logging::Level::kInfo, "coordinator", "task succeeded",
                   {{"type", request.type}, {"duration_ms", ms}}, &context);
    } else {
      logging::Log(
          logging::Level::kWarn, "coordinator", "task failed",
          {{"type", request.type}, {"duration_ms", ms}, {"error", result.status.ToString()}},
          &context);
    }
  }
  (result.status.ok() ? succeeded_ : failed_).fetch_add(1);
  in_flight_.fetch_sub(1);
  return result;
}

CoordinatorStats Coordinator::Stats() const {
  CoordinatorStats s;
  s.tasks_started = started_.load();
  s.tasks_succeeded = succeeded_.load();
  s.tasks_failed = failed_.load();
  s.tasks_in_flight = in_flight_.load();
  s.workers = registry_.size();
  return s;
}

HealthReport Coordinator::HealthCheck() const {
  HealthReport report;
  bool up = accepting_.load();
  report.components.push_back({"protocol", up ? HealthState::kHealthy : HealthState::kUnhealthy,
                               up ? "accepting messages" : "shut down"});
  report.components.push_back({"orchestrator", up ? HealthState::kHealthy : HealthState::kUnhealthy,
                               std::to_string(orchestrator_->running()) + " tasks running"});
  auto workers = registry_.List();
  std::size_t usable = 0;
  for (const auto& w : workers) {
    HealthState state = HealthState::kHealthy;
    if (w.status == WorkerStatus::kFailed || w.status == WorkerStatus::kOffline)
      state = HealthState::kDegraded;
    else
      ++usable;
    report.components.push_back(
        {"worker:" + w.agent_id, state, std::string(WorkerStatusName(w.status))});
  }
  HealthState pool = usable == workers.size() ? HealthState::kHealthy
                     : usable > 0             ? HealthState::kDegraded
                                              : HealthState::kUnhealthy;
  if (workers.empty()) pool = HealthState::kUnhealthy;
  report.components.push_back(
      {"workers", pool,
       std::to_string(usable) + " of " + std::to_string(workers.size()) + " workers usable"});
  for (const auto& c : report.components) {
    // A single bad worker degrades the system; only the aggregate can make it unhealthy.
    HealthState s =
        c.component.rfind("worker:", 0) == 0 ? std::min(c.state, HealthState::kDegraded) : c.state;
    report.overall = Worst(report.overall, s);
  }
  return report;
}

Status Coordinator::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_.exchange(true)) return Status::Ok();
  accepting_.store(false, std::memory_order_release);
  if (!orchestrator_) return Status::Ok();  // Create failed before there was anything to stop
  Status status = orchestrator_->Shutdown(grace);
  std::vector<std::shared_ptr<Worker>> workers;
  {
    std::lock_guard lock(workers_mu_);
    workers.swap(workers_);
  }
  for (auto& w : workers) {
    (void)registry_.Remove(w->id());
    Status s = w->Stop();
    if (status.ok() && !s.ok()) status = s;
  }
  if (owns_protocol_) {
    Status s = protocol_->Shutdown(grace);
    if (status.ok() && !s.ok()) status = s;
  }
  return status;
}

}  // namespace minion::agents
