#include "agents/plan_run.h"

#include <algorithm>

#include "minion/agents/wire.h"
#include "minion/common/json.h"
#include "minion/metrics/recorder.h"

namespace minion::agents::internal {
namespace {

std::string Millis(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

std::uint64_t ToNanos(std::chrono::nanoseconds d) {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count()));
}

// The worker breakers' state changes and rejections, as events on the dispatch span.
void AddRoutingEvents(std::optional<observability::StartedSpan>& span,
                      const RoutingEvents& events) {
  if (!span) return;
  for (const auto& t : events.transitions) {
    span->span.AddEvent("circuit_breaker.state_change", {{"circuit_breaker.name", t.breaker},
                                                         {"circuit_breaker.from", t.from},
                                                         {"circuit_breaker.to", t.to},
                                                         {"circuit_breaker.reason", t.reason}});
  }
  for (const auto& r : events.rejections) {
    span->span.AddEvent("circuit_breaker.rejected", {{"circuit_breaker.reason", r}});
  }
}

}  // namespace

LedgerUsage ToLedgerUsage(const Usage& usage, const PriceTable* prices) {
  LedgerUsage out;
  if (usage.empty()) return out;
  const PriceTable none;
  out.by_model = DumpJson(EncodeUsage(usage));
  out.input_tokens = usage.input_tokens();
  out.output_tokens = usage.output_tokens();
  out.llm_calls = usage.llm_calls();
  out.cost_usd = (prices ? *prices : none).CostOf(usage).usd;
  return out;
}

void ReplyTable::Add(const std::string& message_id, Attempt attempt) {
  std::lock_guard lock(mu_);
  entries_[message_id] = Entry{std::move(attempt), false};
}

void ReplyTable::Deliver(Message message) {
  Attempt attempt;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(message.in_reply_to);
    if (it == entries_.end()) {
      const bool known = std::find(recent_answered_.begin(), recent_answered_.end(),
                                   message.in_reply_to) != recent_answered_.end();
      (known ? duplicates_ : unmatched_).fetch_add(1, std::memory_order_relaxed);
      return;  // a duplicate of a finished run's reply, or a late reply to an abandoned attempt
    }
    if (it->second.answered) {
      duplicates_.fetch_add(1, std::memory_order_relaxed);
      return;  // only the first reply counts: a dependent step must never run twice
    }
    it->second.answered = true;
    attempt = it->second.attempt;
  }
  std::lock_guard lock(attempt.execution->mu);
  attempt.execution->inbox.emplace_back(attempt.index, std::move(message));
  attempt.execution->cv.notify_all();
}

bool ReplyTable::Withdraw(const std::string& message_id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(message_id);
  if (it == entries_.end() || it->second.answered) return false;
  entries_.erase(it);
  return true;
}

void ReplyTable::Forget(const std::vector<std::string>& message_ids) {
  std::lock_guard lock(mu_);
  for (const auto& id : message_ids) {
    auto it = entries_.find(id);
    if (it == entries_.end()) continue;
    if (it->second.answered) {
      recent_answered_.push_back(id);
      if (recent_answered_.size() > kRecentAnswered) recent_answered_.pop_front();
    }
    entries_.erase(it);
  }
}

bool PlanRun::ReadyOrder::operator()(std::size_t a, std::size_t b) const {
  // std::priority_queue pops the greatest: higher priority, then the lower index, wins.
  const int pa = plan->subtasks[a].priority, pb = plan->subtasks[b].priority;
  return pa != pb ? pa < pb : a > b;
}

PlanRun::PlanRun(PlanRunEnv env, const trace::Context& context, const std::string& run_id,
                 const Plan& plan, std::shared_ptr<Execution> execution,
                 const std::map<std::string, SubtaskOutcome>* completed)
    : env_(env),
      context_(context),
      plan_(plan),
      execution_(std::move(execution)),
      task_id_(run_id.substr(0, run_id.find('#'))),
      id_prefix_(run_id.size() > task_id_.size() ? "replan/" : ""),
      ready_(ReadyOrder{&plan}) {
  const std::size_t n = plan.subtasks.size();
  slots_.resize(n);
  outcomes_.resize(n);
  dependents_.resize(n);
  dependencies_.resize(n);
  std::unordered_map<std::string_view, std::size_t> index;
  index.reserve(n);
  for (std::size_t i = 0; i < n; ++i) index.emplace(plan.subtasks[i].name, i);
  for (std::size_t i = 0; i < n; ++i) {
    for (const auto& dep : plan.subtasks[i].dependencies) {
      auto it = index.find(dep);
      if (it == index.end()) continue;  // impossible in a validated plan
      dependencies_[i].push_back(it->second);
      dependents_[it->second].push_back(i);
    }
    auto& o = outcomes_[i];
    o.subtask_id = id_prefix_ + plan.subtasks[i].name;
    o.name = plan.subtasks[i].name;
    o.capability = plan.subtasks[i].capability;
    o.status = Status(StatusCode::kUnknown, "not run");
    if (completed != nullptr) {
      if (auto it = completed->find(o.name); it != completed->end()) {
        const std::string subtask_id = o.subtask_id;
        o = it->second;
        o.subtask_id = subtask_id;
        o.name = plan.subtasks[i].name;
        o.capability = plan.subtasks[i].capability;
        o.status = Status::Ok();
        o.reused = true;
        slots_[i].state = State::kDone;
      }
    }
  }
  // Only dependencies that are not done yet hold a subtask back.
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t d : dependencies_[i]) slots_[i].unmet += slots_[d].state != State::kDone;
  }
}

PlanRun::~PlanRun() { env_.replies.Forget(message_ids_); }

void PlanRun::Record(std::size_t i, const char* state) {
  const auto& o = outcomes_[i];
  SubtaskRecord record{
      task_id_,     o.subtask_id, o.name,     o.capability,
      o.worker_id,  state,        o.attempts, o.status.ok() ? "" : o.status.ToString(),
      o.started_at, o.finished_at};
  // Everything `minion resume` needs to rerun the plan without this subtask when it finished.
  const auto& spec = plan_.subtasks[i];
  record.position = static_cast<int>(i);
  record.dependencies = spec.dependencies;
  if (!spec.input.is_null()) record.input = DumpJson(spec.input);
  if (!o.output.is_null()) record.output = DumpJson(o.output);
  record.usage = ToLedgerUsage(o.usage, env_.options.prices.get());
  env_.ledger.Subtask(record);
}

void PlanRun::Step(std::size_t i, std::string kind, std::string detail) {
  env_.ledger.Step(task_id_, outcomes_[i].subtask_id, std::move(kind), std::move(detail));
}

Status PlanRun::Run() {
  const std::size_t n = slots_.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (slots_[i].state != State::kDone) Record(i, "pending");  // a reused row stays as it was
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (slots_[i].state == State::kDone) continue;
    if (slots_[i].unmet == 0) {
      slots_[i].state = State::kReady;
      ready_.push(i);
    } else {
      ++waiting_;
    }
  }
  for (;;) {
    PromoteDueRetries();
    if (!Stopping()) LaunchReady();
    // No new work after a failure; what waits is skipped, what runs is abandoned below.
    if (Stopping()) SkipRemaining();
    if (running_.empty() && retries_.empty() && ready_.empty()) {
      if (waiting_ > 0 && !Stopping()) {
        // Cannot happen with a validated plan; guard against looping forever.
        first_error_ = InternalError("subtasks are waiting on dependencies that can never finish");
        continue;
      }
      break;
    }
    WaitForEvents();
    ReapRunning();
  }
  return first_error_;
}

void PlanRun::PromoteDueRetries() {
  if (retries_.empty()) return;
  const std::uint64_t now = env_.clock.MonotonicNanos();
  while (!retries_.empty() && retries_.top().first <= now) {
    const std::size_t i = retries_.top().second;
    retries_.pop();
    if (slots_[i].state != State::kBackoff) continue;
    slots_[i].state = State::kReady;
    ready_.push(i);
  }
}

void PlanRun::LaunchReady() {
  const std::size_t limit = std::max<std::size_t>(1, env_.options.max_parallel);
  while (!ready_.empty() && running_.size() < limit && !Stopping()) {
    const std::size_t i = ready_.top();
    ready_.pop();
    if (slots_[i].state == State::kReady) Dispatch(i);
  }
}

void PlanRun::Dispatch(std::size_t i) {
  const auto& spec = plan_.subtasks[i];
  auto& slot = slots_[i];
  auto& o = outcomes_[i];
  ++o.attempts;
  if (o.attempts == 1 && env_.options.retry.budget) env_.options.retry.budget->Deposit();
  if (!slot.span) {
    slot.span =
        observability::StartOrchestratorSpan(env_.tracer, context_, env_.options.id, "dispatch");
    slot.span->span.SetAttribute("multiagent.subtask.name", spec.name);
    slot.span->span.SetAttribute("multiagent.subtask.capability", spec.capability);
    slot.span->span.SetAttribute(observability::kAttrTaskID, task_id_);
    o.started_at = env_.clock.Now();
  }
  RoutingEvents events;
  auto worker = env_.registry.Acquire(spec.capability, env_.options.routing, &events);
  AddRoutingEvents(slot.span, events);
  if (!worker.ok()) {
    AttemptFailed(i, worker.status(), false);
    return;
  }
  o.worker_id = *worker;
  slot.span->span.SetAttribute(observability::kAttrWorkerID, o.worker_id);

  Subtask subtask;
  subtask.task_id = task_id_;
  subtask.subtask_id = o.subtask_id;
  subtask.name = spec.name;
  subtask.capability = spec.capability;
  subtask.description = spec.description;
  subtask.priority = spec.priority;
  subtask.attempt = o.attempts;
  subtask.input = spec.input;
  for (std::size_t d : dependencies_[i])
    subtask.dependency_outputs[plan_.subtasks[d].name] = outcomes_[d].output;
  // The time limit travels with the subtask so the worker and whatever it calls stop with us.
  subtask.timeout = env_.options.subtask_timeout;

  Message message;
  message.id = NewMessageId();
  message.type = MessageType::kTask;
  message.from = env_.options.id;
  message.to = o.worker_id;
  message.content = EncodeSubtask(subtask);
  message.metadata["task_id"] = task_id_;
  slot.message_id = message.id;
  message_ids_.push_back(message.id);
  env_.replies.Add(message.id, ReplyTable::Attempt{execution_, i, o.worker_id});
  slot.state = State::kRunning;
  slot.deadline = env_.clock.MonotonicNanos() + ToNanos(env_.options.subtask_timeout);
  running_.push_back(i);
  Record(i, "running");
  Step(i, "dispatch", "attempt " + std::to_string(o.attempts) + " to " + o.worker_id);
  Status sent = env_.protocol.Send(slot.span->context, std::move(message));
  if (!sent.ok() && env_.replies.Withdraw(slot.message_id)) {
    RoutingEvents released;
    env_.registry.Release(o.worker_id, sent, &released);  // the worker could not be reached
    AddRoutingEvents(slot.span, released);
    StopRunning(i);
    AttemptFailed(i, sent.WithContext("sending to " + o.worker_id), true);
  }
}

void PlanRun::StopRunning(std::size_t i) {
  running_.erase(std::find(running_.begin(), running_.end(), i));
}

void PlanRun::HandleReply(std::size_t i, const Message& reply) {
  auto& slot = slots_[i];
  if (slot.state != State::kRunning || reply.in_reply_to != slot.message_id) return;
  StopRunning(i);
  auto& o = outcomes_[i];
  auto decoded = DecodeReply(reply.type, reply.content);
  // The attempt's outcome goes to the worker's circuit breaker (a malformed reply is a failure).
  RoutingEvents events;
  env_.registry.Release(o.worker_id, decoded.ok() ? decoded->status : decoded.status(), &events);
  AddRoutingEvents(slot.span, events);
  if (!decoded.ok()) {
    env_.replies.CountMalformed();
    AttemptFailed(i, decoded.status().WithContext("malformed reply from worker " + o.worker_id),
                  true);
    return;
  }
  // Exactly once per accepted reply: duplicates and late replies never get here (ReplyTable and
  // the message-id check above). Error replies count too: their tokens were spent.
  o.usage.Merge(decoded->usage);
  if (decoded->delivery_count > 1 && slot.span) {
    // The transport delivered this attempt more than once (a worker died holding it).
    slot.span->span.AddEvent("redelivered",
                             {{"messaging.redis.message.delivery_count", decoded->delivery_count},
                              {"multiagent.worker.id", reply.from}});
  }
  if (decoded->status.ok()) {
    o.output = std::move(decoded->output);
    Step(i, "result", "from " + o.worker_id);
    Finish(i, State::kDone, Status::Ok());
    return;
  }
  AttemptFailed(
      i, Status(decoded->status.code(), "worker " + o.worker_id + ": " + decoded->status.message()),
      true);
}

void PlanRun::AttemptFailed(std::size_t i, Status status, bool retryable) {
  auto& o = outcomes_[i];
  auto& slot = slots_[i];
  Step(i, "error", "attempt " + std::to_string(o.attempts) + ": " + status.ToString());
  bool retry = retryable && !Stopping() && o.attempts < env_.options.retry.max_attempts;
  if (retry && env_.options.retry.budget && !env_.options.retry.budget->TryWithdraw()) {
    // Too many retries lately across this orchestrator: fail now rather than add load.
    retry = false;
    metrics::GlobalRecorder().Retry("orchestrator", "budget_exhausted");
    if (slot.span)
      slot.span->span.AddEvent("retry_budget_exhausted",
                               {{"multiagent.subtask.attempt", o.attempts}});
    status = status.WithContext("retry budget exhausted");
  } else if (retry) {
    metrics::GlobalRecorder().Retry("orchestrator", "retried");
  }
  if (retry) {
    if (slot.span) {
      // The failed attempt's worker span may live in another process, kept there for its
      // error; keep this side too so a tail sampler does not leave it orphaned.
      slot.span->span.AddEvent("attempt_failed", {{"multiagent.subtask.attempt", o.attempts},
                                                  {"error.message", status.ToString()}});
      slot.span->span.SetAttribute(observability::kAttrTailKeep, true);
    }
    slot.state = State::kBackoff;
    const auto delay = env_.options.retry.Backoff(o.attempts + 1);
    slot.retry_at = env_.clock.MonotonicNanos() + ToNanos(delay);
    retries_.emplace(slot.retry_at, i);
    o.status = std::move(status);
    Step(i, "retry",
         "attempt " + std::to_string(o.attempts + 1) + " in " +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()) +
             " ms");
    Record(i, "retrying");
    return;
  }
  Finish(i, State::kFailed, std::move(status));
}

void PlanRun::Finish(std::size_t i, State state, Status status) {
  auto& slot = slots_[i];
  auto& o = outcomes_[i];
  slot.state = state;
  o.status = status;
  o.finished_at = env_.clock.Now();
  if (slot.span) {
    observability::EndSpan(slot.span->span, status);
    slot.span.reset();
  }
  Record(i, state == State::kDone ? "succeeded" : state == State::kFailed ? "failed" : "skipped");
  if (state == State::kFailed && first_error_.ok()) {
    first_error_ = status.WithContext("subtask '" + o.name + "'");
  }
  if (state != State::kDone) return;
  for (std::size_t d : dependents_[i]) {
    auto& dependent = slots_[d];
    if (dependent.state == State::kWaiting && --dependent.unmet == 0) {
      dependent.state = State::kReady;
      --waiting_;
      ready_.push(d);
    }
  }
}

void PlanRun::SkipRemaining() {
  if (skipped_) return;
  skipped_ = true;
  const Status skipped = AbortedError(cancelled_ ? "not run: the task was cancelled"
                                                 : "not run: " + first_error_.message());
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const State s = slots_[i].state;
    if (s == State::kWaiting || s == State::kReady || s == State::kBackoff)
      Finish(i, State::kSkipped, skipped);
  }
  waiting_ = 0;
  ready_ = decltype(ready_)(ReadyOrder{&plan_});
  retries_ = decltype(retries_)();
}

void PlanRun::WaitForEvents() {
  std::optional<std::uint64_t> wake;
  for (std::size_t i : running_) wake = std::min(wake.value_or(UINT64_MAX), slots_[i].deadline);
  if (!retries_.empty()) wake = std::min(wake.value_or(UINT64_MAX), retries_.top().first);
  std::deque<std::pair<std::size_t, Message>> replies;
  {
    std::unique_lock lock(execution_->mu);
    auto ready = [&] {
      return !execution_->inbox.empty() || (execution_->cancelled && !cancelled_);
    };
    // After a failure nothing that still runs is worth waiting for: abandon it right away.
    if (!Stopping()) {
      if (wake) {
        while (!ready() && env_.clock.MonotonicNanos() < *wake)
          env_.clock.WaitUntil(execution_->cv, lock, *wake);
      } else {
        execution_->cv.wait(lock, ready);
      }
    }
    replies.swap(execution_->inbox);
    if (execution_->cancelled && !cancelled_) {
      cancelled_ = true;
      if (first_error_.ok()) first_error_ = execution_->cancel_status;
    }
  }
  for (auto& [i, reply] : replies) HandleReply(i, reply);
}

void PlanRun::ReapRunning() {
  if (running_.empty()) return;
  const std::uint64_t now = env_.clock.MonotonicNanos();
  const std::vector<std::size_t> running = running_;
  for (std::size_t i : running) {
    auto& slot = slots_[i];
    // Once the task has failed a running subtask's result can no longer be used: stop it now
    // rather than wait for it.
    const bool abandon = Stopping();
    if (!abandon && slot.deadline > now) continue;
    if (!env_.replies.Withdraw(slot.message_id)) continue;  // its reply is already in the inbox
    auto& o = outcomes_[i];
    StopRunning(i);
    const auto timeout = env_.options.subtask_timeout;
    // Only a timeout says something about the worker; a cancelled attempt returns its permit.
    if (abandon || cancelled_) {
      env_.registry.Release(o.worker_id);
    } else {
      RoutingEvents events;
      env_.registry.Release(o.worker_id, DeadlineExceededError("timed out"), &events);
      AddRoutingEvents(slot.span, events);
    }
    if (cancelled_) {
      CancelAttempt(i, "task cancelled: " + first_error_.message());
      Finish(i, State::kFailed, first_error_);
    } else if (abandon) {
      CancelAttempt(i, "task failed: " + first_error_.message());
      Finish(i, State::kFailed, AbortedError("cancelled: " + first_error_.message()));
    } else {
      Step(i, "timeout", "after " + Millis(timeout));
      CancelAttempt(i, "timeout after " + Millis(timeout));
      AttemptFailed(i,
                    DeadlineExceededError("subtask '" + o.name + "' timed out after " +
                                          Millis(timeout) + " on worker " + o.worker_id +
                                          " (attempt " + std::to_string(o.attempts) + ")"),
                    true);
    }
  }
}

// Tells the worker holding slot i's attempt to stop. Best effort: the attempt is abandoned
// either way (its late reply finds no pending entry), so a failed send is only recorded.
// Sent under the dispatch span, so the trace shows the cancel beside the task it cancels.
void PlanRun::CancelAttempt(std::size_t i, const std::string& reason) {
  auto& slot = slots_[i];
  const auto& o = outcomes_[i];
  Message message;
  message.type = MessageType::kEvent;
  message.from = env_.options.id;
  message.to = WorkerControlId(o.worker_id);
  message.content =
      EncodeCancel(CancelRequest{slot.message_id, task_id_, o.subtask_id, o.attempts, reason});
  message.metadata["task_id"] = task_id_;
  const trace::Context parent = slot.span ? slot.span->context : context_;
  Status sent = env_.protocol.Send(parent, std::move(message));
  if (slot.span) {
    slot.span->span.AddEvent("cancel_sent", {{"multiagent.worker.id", o.worker_id},
                                             {"multiagent.subtask.attempt", o.attempts},
                                             {"multiagent.cancel.reason", reason}});
  }
  Step(i, "cancel",
       "attempt " + std::to_string(o.attempts) + " on " + o.worker_id + ": " + reason +
           (sent.ok() ? "" : " (cancel not delivered: " + sent.ToString() + ")"));
}

}  // namespace minion::agents::internal
