#pragma once
// The content of the messages the runtime exchanges, encoded and decoded in one place for both
// sides (orchestrator and workers, in one process or across a network transport):
//
//   task   (orchestrator -> worker)           Subtask         EncodeSubtask / DecodeSubtask
//   result / error (worker -> orchestrator)   TaskReply       EncodeReply / DecodeReply
//   event  (orchestrator -> worker control)   CancelRequest   EncodeCancel / DecodeCancel
//
// Decoding is strict: a field of the wrong type, an unknown status code name, an id longer than
// kMaxWireIdBytes or a missing required field is InvalidArgument naming the field, never an
// exception and never a guess, because a peer on the network can send anything. Message size and
// JSON nesting depth are bounded where the text is parsed (ParseMessage, message.h).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "minion/agents/message.h"
#include "minion/agents/usage.h"
#include "minion/common/clock.h"
#include "minion/common/status.h"

namespace minion::agents {

// Ids, names and capabilities longer than this are rejected.
inline constexpr std::size_t kMaxWireIdBytes = 1024;

// One unit of work as a worker sees it (also the JSON an external command reads on stdin).
struct Subtask {
  std::string task_id;     // the parent task (multiagent.task.id)
  std::string subtask_id;  // unique within the task
  std::string name;
  std::string capability;  // the capability this subtask needs
  std::string description;
  int priority = 5;
  int attempt = 1;
  nlohmann::json input;
  nlohmann::json dependency_outputs = nlohmann::json::object();  // name -> output
  // The time the orchestrator gives this attempt, counted from when it sent it; zero: no
  // limit. Relative, as gRPC's grpc-timeout is, so clock skew between machines does not move
  // it. Handlers give what they call (a model, a command) no more than this, so retries below
  // them stop when the orchestrator gives up.
  std::chrono::milliseconds timeout{0};
  // Not serialised. Stop is requested when the orchestrator cancels this attempt (timeout, the
  // task failed or is shutting down). Handlers that block should watch it (std::stop_callback,
  // or stop_requested() between steps) and return promptly; ignoring it is allowed, the late
  // result is then dropped. Empty (never stops) for Worker::Handle unless the caller sets it.
  std::stop_token stop_token;
  // Not serialised. Where the handler adds each LLM call's tokens (UsageMeter::Add); the worker
  // sets it for the attempt and sends the total back in the reply. Null: nobody is counting.
  // Valid only while HandleTask runs: work a handler leaves behind must not add to it later.
  UsageMeter* usage = nullptr;
};

// What a worker answers: a `result` message when status is OK (with output), else an `error`.
struct TaskReply {
  std::string task_id;
  std::string subtask_id;
  std::string worker_id;
  Status status;
  nlohmann::json output;  // only for OK
  // How often the transport delivered the task (Redis redelivers when a worker died holding
  // it); 0: not reported. The orchestrator shows a count above 1 on its dispatch span.
  std::int64_t delivery_count = 0;
  // The LLM calls this attempt made, per model; also on an error reply, because a failed
  // attempt's tokens were spent and billed (docs/usage.md).
  Usage usage;
};

// What a cancel message asks (an `event` to WorkerControlId(worker)). `message_id` names the
// attempt: the id of the `task` message.
struct CancelRequest {
  std::string message_id;
  std::string task_id;
  std::string subtask_id;
  int attempt = 0;
  std::string reason;  // "timeout after 200 ms", "task failed: ...", "orchestrator shutting down"
};

nlohmann::json EncodeSubtask(const Subtask& subtask);
// InvalidArgument unless `content` is an object with string subtask_id and capability.
Result<Subtask> DecodeSubtask(const nlohmann::json& content);

// The message type a reply travels as: kResult for OK, kError otherwise.
MessageType ReplyType(const TaskReply& reply);
//   result: {"subtask_id", "task_id", "worker_id", "output"}
//   error:  {"subtask_id", "task_id", "worker_id", "error": "<message>", "code": "<StatusCode
//   name>"} both:   "usage": [...] (EncodeUsage) when the attempt called a model; absent means
//   none.
nlohmann::json EncodeReply(const TaskReply& reply);
// `type` is the message's type; anything but kResult / kError is InvalidArgument. An error
// reply's status carries the worker's code (InvalidArgument when the name is unknown).
Result<TaskReply> DecodeReply(MessageType type, const nlohmann::json& content);

nlohmann::json EncodeCancel(const CancelRequest& cancel);  // {"cancel": {...}}
// InvalidArgument unless `content` is {"cancel": {"message_id": "<non-empty>", ...}}.
Result<CancelRequest> DecodeCancel(const nlohmann::json& content);

// The names the runtime used before wire.h; kept for handlers and tests written against them.
inline nlohmann::json SubtaskToJson(const Subtask& s) { return EncodeSubtask(s); }
inline Result<Subtask> SubtaskFromJson(const nlohmann::json& j) { return DecodeSubtask(j); }
inline nlohmann::json CancelRequestToJson(const CancelRequest& c) { return EncodeCancel(c); }
inline Result<CancelRequest> CancelRequestFromJson(const nlohmann::json& j) {
  return DecodeCancel(j);
}

}  // namespace minion::agents
