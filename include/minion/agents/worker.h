#pragma once
// Workers: agents that perform subtasks. A Worker subscribes to `task` messages on a Protocol,
// runs its TaskHandler inside a `worker.<capability>` CONSUMER span whose parent is the
// sender's `protocol.send` span (recovered from the message headers), and answers with a
// `result` (or `error`) message through its own `protocol.send`.
//
// Cancellation travels as a message, so it works across processes: the orchestrator sends an
// `event` message whose content is {"cancel": CancelRequest} to WorkerControlId(worker id), a
// second subscription the worker keeps so that a cancel is never queued behind the very task
// it cancels. The worker requests stop on that subtask's std::stop_source; the handler sees it
// as Subtask::stop_token. A cancelled subtask's worker span ends with ERROR (Cancelled) and a
// `cancelled` event carrying the reason; its reply is still sent (the orchestrator drops it).

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "minion/agents/protocol.h"
#include "minion/agents/wire.h"
#include "minion/common/status.h"
#include "minion/observability/tracing.h"
#include "minion/trace/context.h"

namespace minion::agents {

enum class WorkerStatus { kIdle, kBusy, kFailed, kOffline };
std::string_view WorkerStatusName(WorkerStatus status);  // "idle", "busy", "failed", "offline"

struct WorkerMetadata {
  std::string agent_id;
  std::string role;  // "coder", "analyst", ... or anything for custom workers
  std::vector<std::string> capabilities;
  std::string group;  // joined on Start when not empty
  int priority = 5;   // higher wins when routing ties
  WorkerStatus status = WorkerStatus::kOffline;

  bool HasCapability(std::string_view capability) const;
};

// Subtask, CancelRequest and the reply content are defined with their encoding in wire.h.
// The agent id a worker listens on for control (cancel) messages: "<agent_id>/control".
std::string WorkerControlId(std::string_view agent_id);

// Does the work. Implementations must be thread-safe when the worker's max_concurrency > 1.
class TaskHandler {
 public:
  virtual ~TaskHandler() = default;
  // `context` is the worker span: spans opened below it (LLM, tools, storage) become children.
  virtual Result<nlohmann::json> HandleTask(const trace::Context& context,
                                            const Subtask& subtask) = 0;
};

using TaskFunction = std::function<Result<nlohmann::json>(const trace::Context&, const Subtask&)>;
// Adapts a C++ callable.
std::unique_ptr<TaskHandler> MakeFunctionHandler(TaskFunction function);

struct WorkerOptions {
  std::shared_ptr<trace::Tracer> tracer;  // null: observability::GetTracer() at each span
  std::size_t max_concurrency = 4;        // subtasks handled at once
  std::size_t mailbox_capacity = 0;       // 0: the protocol's default
  // After this many failures in a row the worker reports status failed (a success resets it).
  int failure_threshold = 3;
  // Timestamps (when a cancel arrived); not owned,
  // null: SystemClock().
  Clock* clock = nullptr;
};

// Thread-safe. Stop() (or the destructor) unsubscribes and waits for running subtasks.
class Worker {
 public:
  Worker(WorkerMetadata metadata, std::unique_ptr<TaskHandler> handler, WorkerOptions options = {});
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Subscribes metadata().agent_id for `task` messages and WorkerControlId(agent_id) for
  // cancel `event`s on `protocol` (which must outlive Stop()). A cancel is honoured only from
  // the agent that sent the task. With a transport whose handlers share a thread pool, keep a
  // thread free for control messages (InMemoryProtocolOptions::threads).
  Status Start(Protocol& protocol);
  Status Stop();

  // A snapshot; status reflects the current load.
  WorkerMetadata metadata() const;
  const std::string& id() const { return metadata_.agent_id; }
  std::size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  std::uint64_t handled() const { return handled_.load(std::memory_order_relaxed); }
  std::uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }
  // Subtasks whose stop was requested by a cancel message (including ones cancelled before
  // they started, which do not run the handler).
  std::uint64_t cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

  // Runs one subtask synchronously inside a worker span (what a delivered task message does).
  Result<nlohmann::json> Handle(const trace::Context& parent, const Subtask& subtask);

 private:
  // One subtask running (or about to) on behalf of a task message.
  struct Running {
    std::string from;  // the task's sender: the only agent whose cancel is honoured
    std::stop_source source;
    bool cancelled = false;          // guarded by cancel_mu_
    std::string reason;              // guarded by cancel_mu_
    std::string cancel_message_id;   // guarded by cancel_mu_
    trace::SpanContext cancel_send;  // guarded by cancel_mu_; the cancel's protocol.send span
    UnixNanos cancelled_at = 0;      // guarded by cancel_mu_
  };
  void OnMessage(const trace::Context& context, Message message);
  void OnControl(const trace::Context& context, Message message);
  // `message`: the delivered task; its "messaging.*" metadata become worker span attributes.
  Result<nlohmann::json> HandleInSpan(const trace::Context& parent, const Subtask& subtask,
                                      trace::Context* span_context, Running* running,
                                      const Message* message);

  // Cancels that arrived before their task started are remembered (bounded) so the task is
  // not run when it does arrive.
  static constexpr std::size_t kMaxEarlyCancels = 1024;

  const WorkerMetadata metadata_;
  std::unique_ptr<TaskHandler> handler_;
  WorkerOptions options_;
  Clock* clock_;
  std::shared_ptr<trace::Tracer> tracer_;

  std::mutex stop_mu_;  // serialises Stop(); taken before mu_
  std::mutex mu_;
  Protocol* protocol_ = nullptr;  // guarded by mu_

  std::atomic<bool> started_{false};
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::uint64_t> handled_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<int> consecutive_failures_{0};
  std::atomic<std::uint64_t> cancelled_{0};

  // Leaf lock: nothing else is taken while it is held (stop is requested after releasing it,
  // because std::stop_source runs the handler's stop callbacks synchronously).
  std::mutex cancel_mu_;
  std::unordered_map<std::string, std::shared_ptr<Running>> running_;  // guarded by cancel_mu_
  std::deque<std::pair<std::string, CancelRequest>> early_cancels_;    // guarded by cancel_mu_
};

// The reply messages a worker sends (and the orchestrator reads): TaskReply in wire.h.

}  // namespace minion::agents
