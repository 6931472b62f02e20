#include "minion/agents/worker.h"

#include "minion/logging/log_context.h"
#include "minion/logging/logging.h"
#include "minion/metrics/recorder.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

namespace minion::agents {
namespace {

class FunctionHandler final : public TaskHandler {
 public:
  explicit FunctionHandler(TaskFunction fn) : fn_(std::move(fn)) {}
  Result<nlohmann::json> HandleTask(const trace::Context& context,
                                    const Subtask& subtask) override {
    return fn_(context, subtask);
  }

 private:
  TaskFunction fn_;
};

}  // namespace

std::string_view WorkerStatusName(WorkerStatus status) {
  switch (status) {
    case WorkerStatus::kIdle:
      return "idle";
    case WorkerStatus::kBusy:
      return "busy";
    case WorkerStatus::kFailed:
      return "failed";
    case WorkerStatus::kOffline:
      return "offline";
  }
  return "unknown";
}

bool WorkerMetadata::HasCapability(std::string_view capability) const {
  return std::find(capabilities.begin(), capabilities.end(), capability) != capabilities.end();
}

std::string WorkerControlId(std::string_view agent_id) {
  return std::string(agent_id) + "/control";
}

std::unique_ptr<TaskHandler> MakeFunctionHandler(TaskFunction function) {
  return std::make_unique<FunctionHandler>(std::move(function));
}

Worker::Worker(WorkerMetadata metadata, std::unique_ptr<TaskHandler> handler, WorkerOptions options)
    : metadata_(std::move(metadata)),
      handler_(std::move(handler)),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &SystemClock()),
      tracer_(options_.tracer) {}

Worker::~Worker() { (void)Stop(); }

Status Worker::Start(Protocol& protocol) {
  if (metadata_.agent_id.empty()) return InvalidArgumentError("worker agent id must not be empty");
  if (metadata_.capabilities.empty()) {
    return InvalidArgumentError("worker '" + metadata_.agent_id + "' has no capabilities");
  }
  if (!handler_)
    return InvalidArgumentError("worker '" + metadata_.agent_id + "' has no task handler");
  std::lock_guard lock(mu_);
  if (protocol_)
    return FailedPreconditionError("worker '" + metadata_.agent_id + "' is already started");
  SubscribeOptions sub;
  sub.types = {MessageType::kTask};
  sub.max_concurrency = options_.max_concurrency;
  sub.mailbox_capacity = options_.mailbox_capacity;
  MINION_RETURN_IF_ERROR(protocol.Subscribe(
      metadata_.agent_id, sub,
      [this](const trace::Context& ctx, Message message) { OnMessage(ctx, std::move(message)); }));
  // Control messages get their own mailbox: on the task mailbox a cancel would wait behind the
  // subtasks it is meant to stop once every delivery slot is busy.
  SubscribeOptions control;
  control.types = {MessageType::kEvent};
  control.max_concurrency = 1;
  Status s = protocol.Subscribe(
      WorkerControlId(metadata_.agent_id), control,
      [this](const trace::Context& ctx, Message message) { OnControl(ctx, std::move(message)); });
  if (s.ok() && !metadata_.group.empty()) {
    s = protocol.JoinGroup(metadata_.agent_id, metadata_.group);
    if (!s.ok()) (void)protocol.Unsubscribe(WorkerControlId(metadata_.agent_id));
  }
  if (!s.ok()) {
    (void)protocol.Unsubscribe(metadata_.agent_id);
    return s;
  }
  protocol_ = &protocol;
  started_.store(true, std::memory_order_release);
  return Status::Ok();
}

Status Worker::Stop() {
  std::lock_guard stop_lock(stop_mu_);
  Protocol* protocol;
  {
    std::lock_guard lock(mu_);
    protocol = protocol_;
  }
  if (!protocol) return Status::Ok();
  started_.store(false, std::memory_order_release);
  // Waits for running subtasks; their replies still go out through protocol_, so it is cleared
  // only afterwards.
  Status s = protocol->Unsubscribe(metadata_.agent_id);
  // Only now: cancels must still reach the subtasks the line above waited for.
  Status control = protocol->Unsubscribe(WorkerControlId(metadata_.agent_id));
  std::lock_guard lock(mu_);
  protocol_ = nullptr;
  return s.ok() ? control : s;
}

WorkerMetadata Worker::metadata() const {
  WorkerMetadata m = metadata_;
  if (!started_.load(std::memory_order_acquire)) {
    m.status = WorkerStatus::kOffline;
  } else if (consecutive_failures_.load(std::memory_order_relaxed) >= options_.failure_threshold) {
    m.status = WorkerStatus::kFailed;
  } else {
    m.status = in_flight() > 0 ? WorkerStatus::kBusy : WorkerStatus::kIdle;
  }
  return m;
}

Result<nlohmann::json> Worker::Handle(const trace::Context& parent, const Subtask& subtask) {
  return HandleInSpan(parent, subtask, nullptr, nullptr, nullptr);
}

Result<nlohmann::json> Worker::HandleInSpan(const trace::Context& parent, const Subtask& given,
                                            trace::Context* span_context, Running* running,
                                            const Message* message) {
  // Every attempt is metered, so its worker span always carries the roll-up.
  UsageMeter local_meter;
  std::optional<Subtask> metered;
  if (!given.usage) {
    metered.emplace(given);
    metered->usage = &local_meter;
  }
  const Subtask& subtask = metered ? *metered : given;
  // The span names the capability actually serving this subtask, not the worker's first one.
  auto [context, span] =
      observability::StartWorkerSpan(observability::TracerOrGlobal(tracer_), parent,
                                     metadata_.agent_id, subtask.capability, subtask.task_id);
  if (message) {
    // A networked transport describes the delivery (OpenTelemetry messaging attributes) in the
    // message metadata; the worker span is the "process" span, so they belong on it.
    for (const auto& [key, value] : message->metadata) {
      if (key.rfind("messaging.", 0) != 0) continue;
      if (key.size() > 15 && key.compare(key.size() - 15, 15, ".delivery_count") == 0) {
        span.SetAttribute(key, static_cast<std::int64_t>(std::strtoll(value.c_str(), nullptr, 10)));
      } else {
        span.SetAttribute(key, value);
      }
    }
  }
  if (span_context) *span_context = context;
  span.SetAttribute("multiagent.subtask.name", subtask.name);
  span.SetAttribute("multiagent.subtask.attempt", subtask.attempt);
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t started_mono = SystemClock().MonotonicNanos();
  Result<nlohmann::json> result = InternalError("unreachable");
  if (!metadata_.HasCapability(subtask.capability)) {
    result = InvalidArgumentError("worker '" + metadata_.agent_id +
                                  "' does not offer capability '" + subtask.capability + "'");
  } else if (running && running->source.stop_requested()) {
    result = CancelledError("subtask '" + subtask.subtask_id + "' was cancelled before it started");
  } else {
    // Made current so that log lines (and any code reading Context::Current) inside the handler
    // carry this worker span's ids and the task they work for.
    const trace::Scope scope = context.Attach();
    const logging::ScopedLogContext log_context(
        {subtask.task_id, metadata_.agent_id, subtask.subtask_id});
    result = handler_->HandleTask(context, subtask);
    if (!result.ok()) {
      logging::Log(logging::Level::kWarn, "worker", "subtask failed",
                   {{"capability", subtask.capability},
                    {"attempt", subtask.attempt},
                    {"error", result.status().ToString()}});
    }
  }
  if (running) {
    bool cancelled = false;
    std::string reason, cancel_message_id;
    trace::SpanContext cancel_send;
    UnixNanos at = 0;
    {
      std::lock_guard lock(cancel_mu_);
      cancelled = running->cancelled;
      reason = running->reason;
      cancel_message_id = running->cancel_message_id;
      cancel_send = running->cancel_send;
      at = running->cancelled_at;
    }
    if (cancelled) {
      // Stamped with the time the cancel arrived, not when the handler noticed it.
      span.AddEvent(
          "cancelled",
          {{"multiagent.cancel.reason", reason}, {"multiagent.message.id", cancel_message_id}}, at);
      if (cancel_send.IsValid()) span.AddLink(cancel_send, {{"multiagent.link", "cancel"}});
      // Whatever the handler returned is moot: its attempt was abandoned.
      if (result.status().code() != StatusCode::kCancelled) {
        std::string outcome =
            result.ok() ? "it finished anyway" : "it ended with: " + result.status().ToString();
        result = CancelledError("subtask '" + subtask.subtask_id + "' was cancelled (" + reason +
                                "); " + outcome);
      } else {
        result = result.status().WithContext("cancelled (" + reason + ")");
      }
    }
  }
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  handled_.fetch_add(1, std::memory_order_relaxed);
  {
    metrics::Recorder& recorder = metrics::GlobalRecorder();
    const double seconds = static_cast<double>(SystemClock().MonotonicNanos() - started_mono) / 1e9;
    recorder.AgentExecution(metadata_.agent_id, metadata_.role,
                            result.ok() ? "succeeded" : "failed", seconds);
    if (!result.ok()) {
      recorder.AgentError(metadata_.agent_id,
                          metrics::ErrorType(static_cast<int>(result.status().code())));
    }
  }
  if (result.ok()) {
    consecutive_failures_.store(0, std::memory_order_relaxed);
  } else {
    failed_.fetch_add(1, std::memory_order_relaxed);
    consecutive_failures_.fetch_add(1, std::memory_order_relaxed);
  }
  {
    const Usage usage = subtask.usage->Snapshot();
    span.SetAttribute(observability::kAttrUsageInputTokens, usage.input_tokens());
    span.SetAttribute(observability::kAttrUsageOutputTokens, usage.output_tokens());
    span.SetAttribute(observability::kAttrUsageLlmCalls, usage.llm_calls());
  }
  observability::EndSpan(span, result.status());
  return result;
}

void Worker::OnMessage(const trace::Context& context, Message message) {
  TaskReply reply;
  reply.worker_id = metadata_.agent_id;
  trace::Context reply_parent = context;
  auto subtask = DecodeSubtask(message.content);
  if (!subtask.ok()) {
    reply.status = subtask.status();
    if (message.content.is_object()) {
      if (auto it = message.content.find("subtask_id");
          it != message.content.end() && it->is_string() &&
          it->get_ref<const std::string&>().size() <= kMaxWireIdBytes) {
        reply.subtask_id = *it;
      }
    }
  } else {
    reply.subtask_id = subtask->subtask_id;
    reply.task_id = subtask->task_id;
    // A transport that redelivers (Redis: the first holder died) says how often; the reply
    // carries it so the dispatching side can show the redelivery on its own span.
    for (const auto& [key, value] : message.metadata) {
      if (key.size() > 15 && key.compare(key.size() - 15, 15, ".delivery_count") == 0) {
        reply.delivery_count = std::max<std::int64_t>(0, std::strtoll(value.c_str(), nullptr, 10));
      }
    }
    auto running = std::make_shared<Running>();
    running->from = message.from;
    bool cancelled_early = false;
    {
      std::lock_guard lock(cancel_mu_);
      for (auto it = early_cancels_.begin(); it != early_cancels_.end(); ++it) {
        if (it->second.message_id == message.id && it->first == message.from) {
          running->cancelled = true;
          running->reason = it->second.reason;
          running->cancelled_at = clock_->Now();
          early_cancels_.erase(it);
          cancelled_early = true;
          break;
        }
      }
      running_[message.id] = running;
    }
    if (cancelled_early) {
      running->source.request_stop();
      cancelled_.fetch_add(1, std::memory_order_relaxed);
    }
    subtask->stop_token = running->source.get_token();
    UsageMeter meter;
    subtask->usage = &meter;
    // Handle() ends the worker span before the reply is sent, so the span is complete by the
    // time the orchestrator can observe the result.
    Result<nlohmann::json> result =
        HandleInSpan(context, *subtask, &reply_parent, running.get(), &message);
    {
      std::lock_guard lock(cancel_mu_);
      running_.erase(message.id);
    }
    reply.usage = meter.Snapshot();  // on an error reply too: those tokens were spent
    if (result.ok()) {
      reply.output = std::move(result).value();
    } else {
      reply.status = result.status();
    }
  }
  Message out;
  out.from = metadata_.agent_id;
  out.to = message.from;
  out.in_reply_to = message.id;
  out.type = ReplyType(reply);
  out.content = EncodeReply(reply);
  Protocol* protocol;
  {
    std::lock_guard lock(mu_);
    protocol = protocol_;
  }
  if (protocol) (void)protocol->Send(reply_parent, std::move(out));
}

void Worker::OnControl(const trace::Context& context, Message message) {
  auto cancel = DecodeCancel(message.content);
  if (!cancel.ok()) return;  // not a control message this worker understands
  std::shared_ptr<Running> running;
  {
    std::lock_guard lock(cancel_mu_);
    auto it = running_.find(cancel->message_id);
    if (it == running_.end()) {
      // Not started yet (or already finished: the entry then just ages out).
      early_cancels_.emplace_back(message.from, std::move(cancel).value());
      if (early_cancels_.size() > kMaxEarlyCancels) early_cancels_.pop_front();
      return;
    }
    // Only the agent that handed out the subtask may take it back.
    if (it->second->from != message.from || it->second->cancelled) return;
    running = it->second;
    running->cancelled = true;
    running->reason = cancel->reason;
    running->cancel_message_id = message.id;
    running->cancel_send = context.span_context();
    running->cancelled_at = clock_->Now();
  }
  cancelled_.fetch_add(1, std::memory_order_relaxed);
  running->source.request_stop();  // runs the handler's stop callbacks on this thread
}

}  // namespace minion::agents
