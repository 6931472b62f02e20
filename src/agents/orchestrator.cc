#include "minion/agents/orchestrator.h"

#include <algorithm>
#include <cmath>

#include "agents/plan_run.h"
#include "minion/common/json.h"
#include "minion/common/retry.h"

namespace minion::agents {
namespace {

// The planner's own LLM calls: their roll-up on the orchestrator.plan / replan span (under
// minion.usage.*, as on worker spans) and in the task's total.
void AddPlannerUsage(trace::Span& span, const Usage& usage, Usage& total) {
  if (usage.empty()) return;
  span.SetAttribute(observability::kAttrUsageInputTokens, usage.input_tokens());
  span.SetAttribute(observability::kAttrUsageOutputTokens, usage.output_tokens());
  span.SetAttribute(observability::kAttrUsageLlmCalls, usage.llm_calls());
  total.Merge(usage);
}

}  // namespace

std::chrono::nanoseconds RetryPolicy::Backoff(int next_attempt) const {
  retry::Backoff backoff;
  backoff.initial = initial_backoff;
  backoff.max = max_backoff;
  backoff.multiplier = multiplier;
  backoff.jitter_low = 1.0 - jitter;
  backoff.jitter_high = 1.0 + jitter;
  return backoff.Delay(next_attempt - 1, random);
}

Orchestrator::Orchestrator(Protocol& protocol, WorkerRegistry& registry,
                           OrchestratorOptions options)
    : protocol_(protocol),
      registry_(registry),
      options_(std::move(options)),
      tracer_(options_.tracer),
      ledger_(options_.ledger ? options_.ledger : std::make_shared<InMemoryLedger>()),
      clock_(options_.clock ? options_.clock : &SystemClock()),
      replies_(std::make_unique<internal::ReplyTable>()) {}

Orchestrator::~Orchestrator() { (void)Shutdown(std::chrono::seconds(0)); }

Status Orchestrator::Start() {
  std::lock_guard lock(mu_);
  if (started_) return Status::Ok();
  if (stopping_) return FailedPreconditionError("orchestrator '" + options_.id + "' was shut down");
  SubscribeOptions sub;
  sub.types = {MessageType::kResult, MessageType::kError};
  sub.mailbox_capacity = options_.reply_mailbox_capacity;
  // Reply handling only hands the message to the waiting execution, so several may run at once.
  sub.max_concurrency = std::max<std::size_t>(1, options_.reply_concurrency);
  MINION_RETURN_IF_ERROR(protocol_.Subscribe(
      options_.id, sub,
      [this](const trace::Context&, Message m) { replies_->Deliver(std::move(m)); }));
  started_ = true;
  return Status::Ok();
}

Status Orchestrator::Shutdown(std::chrono::milliseconds grace) {
  std::unique_lock lock(mu_);
  if (!started_ && stopping_) return Status::Ok();
  stopping_ = true;
  bool idle = idle_cv_.wait_for(lock, grace, [&] { return executions_.empty(); });
  if (!idle) {
    for (const auto& execution : executions_) {
      std::lock_guard elock(execution->mu);
      execution->cancelled = true;
      execution->cancel_status = CancelledError("orchestrator '" + options_.id +
                                                "' is shutting down; the task was cancelled");
      execution->cv.notify_all();
    }
    idle_cv_.wait(lock, [&] { return executions_.empty(); });
  }
  bool was_started = started_;
  started_ = false;
  lock.unlock();
  if (was_started) return protocol_.Unsubscribe(options_.id);
  return Status::Ok();
}

std::size_t Orchestrator::running() const {
  std::lock_guard lock(mu_);
  return executions_.size();
}

OrchestratorStats Orchestrator::stats() const {
  return OrchestratorStats{replies_->duplicates(), replies_->unmatched(), replies_->malformed()};
}

ExecutionResult Orchestrator::ExecuteTask(const trace::Context& context, const std::string& task_id,
                                          const TaskRequest& request, Planner& planner,
                                          const ResumeState* resume) {
  ExecutionResult result;
  result.planner = planner.Name();
  auto execution = std::make_shared<internal::Execution>();
  internal::LedgerWriter ledger(*ledger_, *clock_);
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !started_) {
      result.status = UnavailableError("orchestrator '" + options_.id + "' is " +
                                       (stopping_ ? "shutting down" : "not started"));
      return result;
    }
    executions_.insert(execution);
  }
  TaskRecord record{task_id,          request.name,  request.type,
                    request.priority, "running",     "",
                    planner.Name(),   clock_->Now(), 0};
  record.description = request.description;
  if (!request.input.is_null()) record.input = DumpJson(request.input);
  if (context.span_context().IsValid()) {
    // `minion resume` links its new task span to this one.
    record.trace_id = context.span_context().trace_id().ToHex();
    record.span_id = context.span_context().span_id().ToHex();
  }
  if (resume) {
    // The same ledger row continues: its first start and planner stay, the trace ids become
    // this run's (a later resume links to the latest attempt).
    if (resume->started_at != 0) record.started_at = resume->started_at;
    if (!resume->planner.empty()) record.planner = resume->planner;
  }
  ledger.Task(record);
  if (resume) ledger.Step(task_id, "", "resume", resume->detail);

  const std::set<std::string> capabilities = registry_.Capabilities();
  auto check_capabilities = [&](const Plan& plan) -> Status {
    MINION_RETURN_IF_ERROR(ValidatePlan(plan));
    for (const auto& s : plan.subtasks) {
      if (!capabilities.count(s.capability)) {
        return NotFoundError("no worker offers capability '" + s.capability +
                             "' needed by subtask '" + s.name + "'");
      }
    }
    return Status::Ok();
  };

  Plan plan;
  {
    auto [plan_ctx, span] = observability::StartOrchestratorSpan(
        observability::TracerOrGlobal(tracer_), context, options_.id, "plan");
    span.SetAttribute("minion.planner", planner.Name());
    auto made = planner.MakePlan(plan_ctx, request, capabilities);
    Status s = made.ok() ? check_capabilities(*made) : made.status();
    if (made.ok()) AddPlannerUsage(span, made->usage, result.planner_usage);
    if (s.ok()) {
      plan = std::move(made).value();
      span.SetAttribute(observability::kAttrSubtaskCount,
                        static_cast<std::int64_t>(plan.subtasks.size()));
    }
    observability::EndSpan(span, s);
    result.status = s;
  }
  if (resume) result.planner_usage.Merge(resume->planner_usage);  // spent by the interrupted run
  if (!result.planner_usage.empty())
    record.planner_usage = DumpJson(EncodeUsage(result.planner_usage));
  if (result.status.ok()) {
    record.plan = DumpJson(PlanToJson(plan));
    ledger.Task(record);
    ledger.Step(task_id, "", "plan",
                std::to_string(plan.subtasks.size()) + " subtasks from planner " + planner.Name());
    bool cancelled = false;
    result.status = RunPlan(context, task_id, plan, execution, ledger, &result.subtasks, &cancelled,
                            resume ? &resume->completed : nullptr);
    for (const auto& o : result.subtasks) result.usage.Merge(o.usage);
    if (!result.status.ok() && options_.replan_on_failure && !cancelled) {
      auto [replan_ctx, span] = observability::StartOrchestratorSpan(
          observability::TracerOrGlobal(tracer_), context, options_.id, "replan");
      auto replanned = planner.Replan(replan_ctx, request, capabilities, plan, result.status);
      if (replanned.ok()) AddPlannerUsage(span, replanned->usage, result.planner_usage);
      if (replanned.status().code() == StatusCode::kUnimplemented) {
        span.SetAttribute("minion.replan.supported", false);
        observability::EndSpan(span);
      } else {
        Status s = replanned.ok() ? check_capabilities(*replanned) : replanned.status();
        observability::EndSpan(span, s);
        if (s.ok()) {
          ledger.Step(task_id, "", "replan", "after: " + result.status.message());
          Plan second = std::move(replanned).value();
          std::vector<SubtaskOutcome> outcomes;
          Status again = RunPlan(context, task_id + "#replan", second, execution, ledger, &outcomes,
                                 &cancelled);
          for (const auto& o : outcomes) result.usage.Merge(o.usage);
          result.replanned = true;
          result.subtasks = std::move(outcomes);
          result.status = again.ok() ? again
                                     : again.WithContext("after replanning (first plan: " +
                                                         result.status.message() + ")");
        } else {
          ledger.Step(task_id, "", "replan", "failed: " + s.message());
        }
      }
    }
  }

  // The planner's calls (plan, replan, and a resumed run's original plan) are the task's too.
  result.usage.Merge(result.planner_usage);
  record.usage = internal::ToLedgerUsage(result.usage, options_.prices.get());
  if (!result.planner_usage.empty())
    record.planner_usage = DumpJson(EncodeUsage(result.planner_usage));
  record.status = result.status.ok() ? "succeeded" : "failed";
  record.error = result.status.ok() ? "" : result.status.ToString();
  record.finished_at = clock_->Now();
  ledger.Task(record);
  ledger.Step(task_id, "", "done", record.status);
  if (!ledger.first_error().ok() && result.status.ok()) {
    // Several processes sharing one SQLite ledger, a full disk: the work was done but its
    // record is incomplete, and saying "succeeded" would hide that.
    result.status = ledger.first_error().WithContext(
        "the task's subtasks succeeded but its ledger record is incomplete");
  }
  {
    std::lock_guard lock(mu_);
    executions_.erase(execution);
  }
  idle_cv_.notify_all();
  return result;
}

Status Orchestrator::RunPlan(const trace::Context& context, const std::string& run_id,
                             const Plan& plan,
                             const std::shared_ptr<internal::Execution>& execution,
                             internal::LedgerWriter& ledger, std::vector<SubtaskOutcome>* outcomes,
                             bool* cancelled,
                             const std::map<std::string, SubtaskOutcome>* completed) {
  internal::PlanRun run(
      internal::PlanRunEnv{protocol_, registry_, options_, observability::TracerOrGlobal(tracer_),
                           *clock_, *replies_, ledger},
      context, run_id, plan, execution, completed);
  Status status = run.Run();
  *outcomes = std::move(run.outcomes());
  *cancelled = run.cancelled();
  return status;
}

}  // namespace minion::agents
