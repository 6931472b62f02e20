#include "minion/agents/worker.h"

#include <algorithm>

namespace minion::agents {
namespace {

class FunctionHandler final : public TaskHandler {
 public:
  explicit FunctionHandler(TaskFunction fn) : fn_(std::move(fn)) {}
  Result<nlohmann::json> HandleTask(const trace::Context& context, const Subtask& subtask) override {
    return fn_(context, subtask);
  }

 private:
  TaskFunction fn_;
};

Status ReadField(const nlohmann::json& j, const char* key, std::string* out, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return required ? InvalidArgumentError(std::string("subtask field '") + key + "' is missing")
                    : Status::Ok();
  }
  if (!it->is_string()) {
    return InvalidArgumentError(std::string("subtask field '") + key + "' must be a string");
  }
  *out = it->get<std::string>();
  return Status::Ok();
}

}  // namespace

std::string_view WorkerStatusName(WorkerStatus status) {
  switch (status) {
    case WorkerStatus::kIdle: return "idle";
    case WorkerStatus::kBusy: return "busy";
    case WorkerStatus::kFailed: return "failed";
    case WorkerStatus::kOffline: return "offline";
  }
  return "unknown";
}

bool WorkerMetadata::HasCapability(std::string_view capability) const {
  return std::find(capabilities.begin(), capabilities.end(), capability) != capabilities.end();
}

nlohmann::json SubtaskToJson(const Subtask& s) {
  return nlohmann::json{{"task_id", s.task_id},       {"subtask_id", s.subtask_id},
                        {"name", s.name},             {"capability", s.capability},
                        {"description", s.description}, {"priority", s.priority},
                        {"attempt", s.attempt},       {"input", s.input},
                        {"dependency_outputs", s.dependency_outputs}};
}

Result<Subtask> SubtaskFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgumentError("subtask must be a JSON object");
  Subtask s;
  MINION_RETURN_IF_ERROR(ReadField(j, "task_id", &s.task_id, false));
  MINION_RETURN_IF_ERROR(ReadField(j, "subtask_id", &s.subtask_id, true));
  MINION_RETURN_IF_ERROR(ReadField(j, "name", &s.name, false));
  MINION_RETURN_IF_ERROR(ReadField(j, "capability", &s.capability, true));
  MINION_RETURN_IF_ERROR(ReadField(j, "description", &s.description, false));
  if (auto it = j.find("priority"); it != j.end() && it->is_number_integer()) s.priority = it->get<int>();
  if (auto it = j.find("attempt"); it != j.end() && it->is_number_integer()) s.attempt = it->get<int>();
  if (auto it = j.find("input"); it != j.end()) s.input = *it;
  if (auto it = j.find("dependency_outputs"); it != j.end() && it->is_object()) s.dependency_outputs = *it;
  return s;
}

std::unique_ptr<TaskHandler> MakeFunctionHandler(TaskFunction function) {
  return std::make_unique<FunctionHandler>(std::move(function));
}

Worker::Worker(WorkerMetadata metadata, std::unique_ptr<TaskHandler> handler, WorkerOptions options)
    : metadata_(std::move(metadata)),
      handler_(std::move(handler)),
      options_(std::move(options)),
      tracer_(options_.tracer ? options_.tracer
                              : std::make_shared<observability::Tracer>(observability::GetTracer())) {}

Worker::~Worker() { (void)Stop(); }

Status Worker::Start(Protocol& protocol) {
  if (metadata_.agent_id.empty()) return InvalidArgumentError("worker agent id must not be empty");
  if (metadata_.capabilities.empty()) {
    return InvalidArgumentError("worker '" + metadata_.agent_id + "' has no capabilities");
  }
  if (!handler_) return InvalidArgumentError("worker '" + metadata_.agent_id + "' has no task handler");
  std::lock_guard lock(mu_);
  if (protocol_) return FailedPreconditionError("worker '" + metadata_.agent_id + "' is already started");
  SubscribeOptions sub;
  sub.types = {MessageType::kTask};
  sub.max_concurrency = options_.max_concurrency;
  sub.mailbox_capacity = options_.mailbox_capacity;
  MINION_RETURN_IF_ERROR(protocol.Subscribe(
      metadata_.agent_id, sub,
      [this](const trace::Context& ctx, Message message) { OnMessage(ctx, std::move(message)); }));
  if (!metadata_.group.empty()) {
    Status s = protocol.JoinGroup(metadata_.agent_id, metadata_.group);
    if (!s.ok()) {
      (void)protocol.Unsubscribe(metadata_.agent_id);
      return s;
    }
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
  std::lock_guard lock(mu_);
  protocol_ = nullptr;
  return s;
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
  return HandleInSpan(parent, subtask, nullptr);
}

Result<nlohmann::json> Worker::HandleInSpan(const trace::Context& parent, const Subtask& subtask,
                                            trace::Context* span_context) {
  // The span names the capability actually serving this subtask, not the worker's first one.
  auto [context, span] =
      tracer_->StartWorkerSpan(parent, metadata_.agent_id, subtask.capability, subtask.task_id);
  if (span_context) *span_context = context;
  span.SetAttribute("multiagent.subtask.name", subtask.name);
  span.SetAttribute("multiagent.subtask.attempt", subtask.attempt);
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  Result<nlohmann::json> result = InternalError("unreachable");
  if (!metadata_.HasCapability(subtask.capability)) {
    result = InvalidArgumentError("worker '" + metadata_.agent_id + "' does not offer capability '" +
                                  subtask.capability + "'");
  } else {
    result = handler_->HandleTask(context, subtask);
  }
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  handled_.fetch_add(1, std::memory_order_relaxed);
  if (result.ok()) {
    consecutive_failures_.store(0, std::memory_order_relaxed);
  } else {
    failed_.fetch_add(1, std::memory_order_relaxed);
    consecutive_failures_.fetch_add(1, std::memory_order_relaxed);
  }
  observability::EndSpan(span, result.status());
  return result;
}

void Worker::OnMessage(const trace::Context& context, Message message) {
  nlohmann::json reply = {{"worker_id", metadata_.agent_id}};
  Message out;
  out.from = metadata_.agent_id;
  out.to = message.from;
  out.in_reply_to = message.id;
  trace::Context reply_parent = context;
  auto subtask = SubtaskFromJson(message.content);
  if (!subtask.ok()) {
    out.type = MessageType::kError;
    reply["error"] = subtask.status().message();
    reply["code"] = std::string(StatusCodeName(subtask.status().code()));
    if (message.content.is_object() && message.content.contains("subtask_id")) {
      reply["subtask_id"] = message.content["subtask_id"];
    }
  } else {
    reply["subtask_id"] = subtask->subtask_id;
    reply["task_id"] = subtask->task_id;
    // Handle() ends the worker span before the reply is sent, so the span is complete by the
    // time the orchestrator can observe the result.
    Result<nlohmann::json> result = HandleInSpan(context, *subtask, &reply_parent);
    if (result.ok()) {
      out.type = MessageType::kResult;
      reply["output"] = std::move(result).value();
    } else {
      out.type = MessageType::kError;
      reply["error"] = result.status().message();
      reply["code"] = std::string(StatusCodeName(result.status().code()));
    }
  }
  out.content = std::move(reply);
  Protocol* protocol;
  {
    std::lock_guard lock(mu_);
    protocol = protocol_;
  }
  if (protocol) (void)protocol->Send(reply_parent, std::move(out));
}

}  // namespace minion::agents
