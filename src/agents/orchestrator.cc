#include "minion/agents/orchestrator.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <optional>

#include "minion/common/retry.h"

namespace minion::agents {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

StatusCode CodeFromName(std::string_view name) {
  for (int c = 1; c <= 16; ++c) {
    if (StatusCodeName(static_cast<StatusCode>(c)) == name) return static_cast<StatusCode>(c);
  }
  return StatusCode::kUnknown;
}

std::string Millis(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

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

struct Orchestrator::Execution {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::size_t, Message>> inbox;  // guarded by mu: (subtask index, reply)
  bool cancelled = false;                             // guarded by mu
  Status cancel_status;                               // guarded by mu
};

Orchestrator::Orchestrator(Protocol& protocol, WorkerRegistry& registry, OrchestratorOptions options)
    : protocol_(protocol),
      registry_(registry),
      options_(std::move(options)),
      tracer_(options_.tracer),
      ledger_(options_.ledger ? options_.ledger : std::make_shared<InMemoryLedger>()),
      clock_(options_.clock ? options_.clock : &SystemClock()) {}

Orchestrator::~Orchestrator() { (void)Shutdown(std::chrono::seconds(0)); }

Status Orchestrator::Start() {
  std::lock_guard lock(mu_);
  if (started_) return Status::Ok();
  if (stopping_) return FailedPreconditionError("orchestrator '" + options_.id + "' was shut down");
  SubscribeOptions sub;
  sub.types = {MessageType::kResult, MessageType::kError};
  sub.mailbox_capacity = options_.reply_mailbox_capacity;
  // Reply handling only hands the message to the waiting execution, so several may run at once.
  sub.max_concurrency = 8;
  MINION_RETURN_IF_ERROR(protocol_.Subscribe(options_.id, sub, [this](const trace::Context&, Message m) {
    OnReply(std::move(m));
  }));
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
      execution->cancel_status =
          CancelledError("orchestrator '" + options_.id + "' is shutting down; the task was cancelled");
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

void Orchestrator::OnReply(Message message) {
  Pending pending;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(message.in_reply_to);
    if (it == pending_.end()) return;  // a late reply to an attempt that already timed out
    pending = std::move(it->second);
    pending_.erase(it);
  }
  registry_.Release(pending.worker_id);
  std::lock_guard lock(pending.execution->mu);
  pending.execution->inbox.emplace_back(pending.index, std::move(message));
  pending.execution->cv.notify_all();
}

void Orchestrator::Step(const std::string& task_id, const std::string& subtask_id,
                        std::string kind, std::string detail) {
  (void)ledger_->RecordStep(StepRecord{task_id, subtask_id, std::move(kind), std::move(detail),
                                       clock_->Now()});
}

ExecutionResult Orchestrator::ExecuteTask(const trace::Context& context, const std::string& task_id,
                                          const TaskRequest& request, Planner& planner) {
  ExecutionResult result;
  result.planner = planner.Name();
  auto execution = std::make_shared<Execution>();
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !started_) {
      result.status = UnavailableError("orchestrator '" + options_.id + "' is " +
                                       (stopping_ ? "shutting down" : "not started"));
      return result;
    }
    executions_.insert(execution);
  }
  TaskRecord record{task_id, request.name, request.type, request.priority, "running", "",
                    planner.Name(), clock_->Now(), 0};
  (void)ledger_->RecordTask(record);

  const std::set<std::string> capabilities = registry_.Capabilities();
  auto check_capabilities = [&](const Plan& plan) -> Status {
    MINION_RETURN_IF_ERROR(ValidatePlan(plan));
    for (const auto& s : plan.subtasks) {
      if (!capabilities.count(s.capability)) {
        return NotFoundError("no worker offers capability '" + s.capability + "' needed by subtask '" +
                             s.name + "'");
      }
    }
    return Status::Ok();
  };

  Plan plan;
  {
    auto [plan_ctx, span] = observability::StartOrchestratorSpan(observability::TracerOrGlobal(tracer_), context, options_.id, "plan");
    span.SetAttribute("minion.planner", planner.Name());
    auto made = planner.MakePlan(plan_ctx, request, capabilities);
    Status s = made.ok() ? check_capabilities(*made) : made.status();
    if (s.ok()) {
      plan = std::move(made).value();
      span.SetAttribute(observability::kAttrSubtaskCount, static_cast<std::int64_t>(plan.subtasks.size()));
    }
    observability::EndSpan(span, s);
    result.status = s;
  }
  if (result.status.ok()) {
    Step(task_id, "", "plan", std::to_string(plan.subtasks.size()) + " subtasks from planner " + planner.Name());
    result.status = RunPlan(context, task_id, plan, &result.subtasks, execution);
    bool cancelled;
    {
      std::lock_guard lock(execution->mu);
      cancelled = execution->cancelled;
    }
    if (!result.status.ok() && options_.replan_on_failure && !cancelled) {
      auto [replan_ctx, span] = observability::StartOrchestratorSpan(observability::TracerOrGlobal(tracer_), context, options_.id, "replan");
      auto replanned = planner.Replan(replan_ctx, request, capabilities, plan, result.status);
      if (replanned.status().code() == StatusCode::kUnimplemented) {
        span.SetAttribute("minion.replan.supported", false);
        observability::EndSpan(span);
      } else {
        Status s = replanned.ok() ? check_capabilities(*replanned) : replanned.status();
        observability::EndSpan(span, s);
        if (s.ok()) {
          Step(task_id, "", "replan", "after: " + result.status.message());
          Plan second = std::move(replanned).value();
          std::vector<SubtaskOutcome> outcomes;
          Status again = RunPlan(context, task_id + "#replan", second, &outcomes, execution);
          result.replanned = true;
          result.subtasks = std::move(outcomes);
          result.status = again.ok() ? again
                                     : again.WithContext("after replanning (first plan: " +
                                                         result.status.message() + ")");
        } else {
          Step(task_id, "", "replan", "failed: " + s.message());
        }
      }
    }
  }

  record.status = result.status.ok() ? "succeeded" : "failed";
  record.error = result.status.ok() ? "" : result.status.ToString();
  record.finished_at = clock_->Now();
  (void)ledger_->RecordTask(record);
  Step(task_id, "", "done", record.status);
  {
    std::lock_guard lock(mu_);
    executions_.erase(execution);
  }
  idle_cv_.notify_all();
  return result;
}

Status Orchestrator::RunPlan(const trace::Context& context, const std::string& run_id,
                             const Plan& plan, std::vector<SubtaskOutcome>* outcomes,
                             const std::shared_ptr<Execution>& execution) {
  enum class State { kWaiting, kRunning, kBackoff, kDone, kFailed, kSkipped };
  struct Slot {
    State state = State::kWaiting;
    std::string message_id;
    SteadyTime deadline;
    SteadyTime retry_at;
    std::optional<observability::StartedSpan> span;
  };
  // Ledger and outcomes use the task id; a replan run's id carries a suffix only for subtask ids.
  const std::string task_id = run_id.substr(0, run_id.find('#'));
  const std::string id_prefix = run_id.size() > task_id.size() ? "replan/" : "";

  const std::size_t n = plan.subtasks.size();
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < n; ++i) index[plan.subtasks[i].name] = i;
  std::vector<Slot> slots(n);
  outcomes->assign(n, SubtaskOutcome{});
  for (std::size_t i = 0; i < n; ++i) {
    auto& o = (*outcomes)[i];
    o.subtask_id = id_prefix + plan.subtasks[i].name;
    o.name = plan.subtasks[i].name;
    o.capability = plan.subtasks[i].capability;
    o.status = Status(StatusCode::kUnknown, "not run");
  }
  auto record = [&](std::size_t i, const char* state) {
    const auto& o = (*outcomes)[i];
    (void)ledger_->RecordSubtask(SubtaskRecord{task_id, o.subtask_id, o.name, o.capability, o.worker_id,
                                               state, o.attempts,
                                               o.status.ok() ? "" : o.status.ToString(),
                                               o.started_at, o.finished_at});
  };
  for (std::size_t i = 0; i < n; ++i) record(i, "pending");

  std::size_t running = 0;
  Status first_error;
  bool cancelled = false;

  auto finish = [&](std::size_t i, State state, Status status) {
    auto& slot = slots[i];
    auto& o = (*outcomes)[i];
    slot.state = state;
    o.status = status;
    o.finished_at = clock_->Now();
    if (slot.span) {
      observability::EndSpan(slot.span->span, status);
      slot.span.reset();
    }
    record(i, state == State::kDone ? "succeeded" : state == State::kFailed ? "failed" : "skipped");
    if (state == State::kFailed && first_error.ok()) {
      first_error = status.WithContext("subtask '" + o.name + "'");
    }
  };

  auto attempt_failed = [&](std::size_t i, Status status, bool retryable) {
    auto& o = (*outcomes)[i];
    Step(task_id, o.subtask_id, "error", "attempt " + std::to_string(o.attempts) + ": " + status.ToString());
    if (retryable && !cancelled && first_error.ok() && o.attempts < options_.retry.max_attempts) {
      if (slots[i].span) {
        // The failed attempt's worker span may live in another process, kept there for its
        // error; keep this side too so a tail sampler does not leave it orphaned.
        slots[i].span->span.AddEvent("attempt_failed", {{"multiagent.subtask.attempt", o.attempts},
                                                        {"error.message", status.ToString()}});
        slots[i].span->span.SetAttribute(observability::kAttrTailKeep, true);
      }
      slots[i].state = State::kBackoff;
      auto delay = options_.retry.Backoff(o.attempts + 1);
      slots[i].retry_at = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay);
      o.status = status;
      Step(task_id, o.subtask_id, "retry",
           "attempt " + std::to_string(o.attempts + 1) + " in " +
               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()) + " ms");
      record(i, "retrying");
      return;
    }
    finish(i, State::kFailed, status);
  };

  auto dispatch = [&](std::size_t i) {
    const auto& spec = plan.subtasks[i];
    auto& slot = slots[i];
    auto& o = (*outcomes)[i];
    ++o.attempts;
    if (!slot.span) {
      slot.span = observability::StartOrchestratorSpan(observability::TracerOrGlobal(tracer_), context, options_.id, "dispatch");
      slot.span->span.SetAttribute("multiagent.subtask.name", spec.name);
      slot.span->span.SetAttribute("multiagent.subtask.capability", spec.capability);
      slot.span->span.SetAttribute(observability::kAttrTaskID, task_id);
      o.started_at = clock_->Now();
    }
    auto worker = registry_.Acquire(spec.capability, options_.routing);
    if (!worker.ok()) {
      attempt_failed(i, worker.status(), false);
      return;
    }
    o.worker_id = *worker;
    slot.span->span.SetAttribute(observability::kAttrWorkerID, o.worker_id);

    Subtask subtask;
    subtask.task_id = task_id;
    subtask.subtask_id = o.subtask_id;
    subtask.name = spec.name;
    subtask.capability = spec.capability;
    subtask.description = spec.description;
    subtask.priority = spec.priority;
    subtask.attempt = o.attempts;
    subtask.input = spec.input;
    for (const auto& dep : spec.dependencies) subtask.dependency_outputs[dep] = (*outcomes)[index[dep]].output;

    Message message;
    message.id = NewMessageId();
    message.type = MessageType::kTask;
    message.from = options_.id;
    message.to = o.worker_id;
    message.content = SubtaskToJson(subtask);
    message.metadata["task_id"] = task_id;
    slot.message_id = message.id;
    {
      // Registered before sending: the reply may arrive before Send returns.
      std::lock_guard lock(mu_);
      pending_[message.id] = Pending{execution, i, o.worker_id};
    }
    slot.state = State::kRunning;
    slot.deadline = std::chrono::steady_clock::now() + options_.subtask_timeout;
    ++running;
    record(i, "running");
    Step(task_id, o.subtask_id, "dispatch", "attempt " + std::to_string(o.attempts) + " to " + o.worker_id);
    Status sent = protocol_.Send(slot.span->context, std::move(message));
    if (!sent.ok()) {
      bool was_pending;
      {
        std::lock_guard lock(mu_);
        was_pending = pending_.erase(slot.message_id) > 0;
      }
      if (was_pending) {
        registry_.Release(o.worker_id);
        --running;
        attempt_failed(i, sent.WithContext("sending to " + o.worker_id), true);
      }
    }
  };

  // Tells the worker holding slot i's attempt to stop. Best effort: the attempt is abandoned
  // either way (its late reply finds no pending entry), so a failed send is only recorded.
  // Sent under the dispatch span, so the trace shows the cancel beside the task it cancels.
  auto cancel_attempt = [&](std::size_t i, const std::string& reason) {
    auto& slot = slots[i];
    const auto& o = (*outcomes)[i];
    Message message;
    message.type = MessageType::kEvent;
    message.from = options_.id;
    message.to = WorkerControlId(o.worker_id);
    message.content = CancelRequestToJson(CancelRequest{slot.message_id, task_id, o.subtask_id, o.attempts, reason});
    message.metadata["task_id"] = task_id;
    const trace::Context parent = slot.span ? slot.span->context : context;
    Status sent = protocol_.Send(parent, std::move(message));
    if (slot.span) {
      slot.span->span.AddEvent("cancel_sent", {{"multiagent.worker.id", o.worker_id},
                                               {"multiagent.subtask.attempt", o.attempts},
                                               {"multiagent.cancel.reason", reason}});
    }
    Step(task_id, o.subtask_id, "cancel",
         "attempt " + std::to_string(o.attempts) + " on " + o.worker_id + ": " + reason +
             (sent.ok() ? "" : " (cancel not delivered: " + sent.ToString() + ")"));
  };

  auto handle_reply = [&](std::size_t i, Message& reply) {
    auto& slot = slots[i];
    if (slot.state != State::kRunning || reply.in_reply_to != slot.message_id) return;
    --running;
    auto& o = (*outcomes)[i];
    if (auto d = reply.content.is_object() ? reply.content.find("delivery_count") : reply.content.end();
        slot.span && reply.content.is_object() && d != reply.content.end() && d->is_number_integer() &&
        d->get<std::int64_t>() > 1) {
      // The transport delivered this attempt more than once (a worker died holding it).
      slot.span->span.AddEvent("redelivered", {{"messaging.redis.message.delivery_count", d->get<std::int64_t>()},
                                               {"multiagent.worker.id", reply.from}});
    }
    if (reply.type == MessageType::kResult) {
      o.output = reply.content.is_object() && reply.content.contains("output") ? reply.content["output"]
                                                                               : nlohmann::json();
      Step(task_id, o.subtask_id, "result", "from " + o.worker_id);
      finish(i, State::kDone, Status::Ok());
    } else {
      std::string error = "worker reported an error";
      StatusCode code = StatusCode::kUnknown;
      if (reply.content.is_object()) {
        if (auto e = reply.content.find("error"); e != reply.content.end() && e->is_string()) error = *e;
        if (auto c = reply.content.find("code"); c != reply.content.end() && c->is_string()) {
          code = CodeFromName(c->get<std::string>());
        }
      }
      attempt_failed(i, Status(code, "worker " + o.worker_id + ": " + error), true);
    }
  };

  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    // Launch what is ready, highest priority first, while there is room.
    if (!cancelled && first_error.ok()) {
      std::vector<std::size_t> ready;
      for (std::size_t i = 0; i < n; ++i) {
        const auto& slot = slots[i];
        bool deps_done = std::all_of(plan.subtasks[i].dependencies.begin(), plan.subtasks[i].dependencies.end(),
                                     [&](const std::string& d) { return slots[index[d]].state == State::kDone; });
        if ((slot.state == State::kWaiting && deps_done) ||
            (slot.state == State::kBackoff && slot.retry_at <= now)) {
          ready.push_back(i);
        }
      }
      std::stable_sort(ready.begin(), ready.end(), [&](std::size_t a, std::size_t b) {
        return plan.subtasks[a].priority > plan.subtasks[b].priority;
      });
      for (std::size_t i : ready) {
        if (running >= std::max<std::size_t>(1, options_.max_parallel)) break;
        dispatch(i);
      }
    }
    if (!first_error.ok() || cancelled) {
      // No new work after a failure; what waits is skipped, what runs is awaited.
      for (std::size_t i = 0; i < n; ++i) {
        if (slots[i].state == State::kWaiting || slots[i].state == State::kBackoff) {
          finish(i, State::kSkipped,
                 AbortedError(cancelled ? "not run: the task was cancelled"
                                        : "not run: " + first_error.message()));
        }
      }
    }
    bool waiting_for_backoff = std::any_of(slots.begin(), slots.end(),
                                           [](const Slot& s) { return s.state == State::kBackoff; });
    bool waiting_for_deps = std::any_of(slots.begin(), slots.end(),
                                        [](const Slot& s) { return s.state == State::kWaiting; });
    if (running == 0 && !waiting_for_backoff) {
      if (waiting_for_deps && first_error.ok() && !cancelled) {
        // Cannot happen with a validated plan; guard against looping forever.
        first_error = InternalError("subtasks are waiting on dependencies that can never finish");
        continue;
      }
      break;
    }

    // Sleep until a reply, a cancellation, the next deadline or the next retry.
    std::optional<SteadyTime> wake;
    for (const auto& slot : slots) {
      if (slot.state == State::kRunning) wake = wake ? std::min(*wake, slot.deadline) : slot.deadline;
      if (slot.state == State::kBackoff) wake = wake ? std::min(*wake, slot.retry_at) : slot.retry_at;
    }
    // After a failure nothing that still runs is worth waiting for: abandon it right away.
    if (!first_error.ok() || cancelled) wake = std::chrono::steady_clock::now();
    std::deque<std::pair<std::size_t, Message>> replies;
    {
      std::unique_lock lock(execution->mu);
      auto ready = [&] { return !execution->inbox.empty() || (execution->cancelled && !cancelled); };
      if (wake) execution->cv.wait_until(lock, *wake, ready);
      else execution->cv.wait(lock, ready);
      replies.swap(execution->inbox);
      if (execution->cancelled && !cancelled) {
        cancelled = true;
        if (first_error.ok()) first_error = execution->cancel_status;
      }
    }
    for (auto& [i, reply] : replies) handle_reply(i, reply);

    const auto after = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      auto& slot = slots[i];
      if (slot.state != State::kRunning) continue;
      // Once the task has failed a running subtask's result can no longer be used: stop it
      // now rather than wait for it.
      const bool abandon = cancelled || !first_error.ok();
      if (!abandon && slot.deadline > after) continue;
      bool timed_out;
      {
        std::lock_guard lock(mu_);
        timed_out = pending_.erase(slot.message_id) > 0;
      }
      if (!timed_out) continue;  // its reply is already in the inbox
      auto& o = (*outcomes)[i];
      registry_.Release(o.worker_id);
      --running;
      if (cancelled) {
        cancel_attempt(i, "task cancelled: " + first_error.message());
        finish(i, State::kFailed, first_error);
      } else if (abandon) {
        cancel_attempt(i, "task failed: " + first_error.message());
        finish(i, State::kFailed, AbortedError("cancelled: " + first_error.message()));
      } else {
        Step(task_id, o.subtask_id, "timeout", "after " + Millis(options_.subtask_timeout));
        cancel_attempt(i, "timeout after " + Millis(options_.subtask_timeout));
        attempt_failed(i, DeadlineExceededError("subtask '" + o.name + "' timed out after " +
                                                Millis(options_.subtask_timeout) + " on worker " +
                                                o.worker_id + " (attempt " + std::to_string(o.attempts) + ")"),
                       true);
      }
    }
  }
  return first_error;
}

}  // namespace minion::agents
