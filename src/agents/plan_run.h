#pragma once
// Private to the orchestrator: the running of one plan (PlanRun) and the pieces it shares with
// the Orchestrator's reply handler (Execution, ReplyTable, LedgerWriter).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "minion/agents/ledger.h"
#include "minion/agents/orchestrator.h"
#include "minion/agents/planner.h"
#include "minion/agents/protocol.h"
#include "minion/agents/registry.h"
#include "minion/common/clock.h"
#include "minion/observability/tracing.h"

namespace minion::agents::internal {

// One ExecuteTask in progress. The reply handler queues replies here; Shutdown cancels it.
struct Execution {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::size_t, Message>> inbox;  // guarded by mu: (subtask index, reply)
  bool cancelled = false;                             // guarded by mu
  Status cancel_status;                               // guarded by mu
};

// Attempts awaiting their reply, by the id of their `task` message. The first reply to an
// attempt goes to its execution; a second one (a transport that redelivers) is counted and
// dropped, as is a reply to an attempt already given up. Thread-safe.
class ReplyTable {
 public:
  struct Attempt {
    std::shared_ptr<Execution> execution;
    std::size_t index = 0;  // the subtask's position in its plan
    std::string worker_id;
  };
  // Registered before the task message is sent: the reply may arrive before Send returns.
  void Add(const std::string& message_id, Attempt attempt);
  // The reply handler's entry point. The run releases the worker when it handles the reply,
  // with the attempt's outcome (for the worker's circuit breaker).
  void Deliver(Message message);
  // Gives up an attempt (timeout, cancellation, failed send). True when its reply had not been
  // taken yet: the caller then owns releasing the worker. False: the reply is in the inbox.
  bool Withdraw(const std::string& message_id);
  // The run is over: its answered attempts are remembered (boundedly) only to spot duplicates.
  void Forget(const std::vector<std::string>& message_ids);

  void CountMalformed() { malformed_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t duplicates() const { return duplicates_.load(std::memory_order_relaxed); }
  std::uint64_t unmatched() const { return unmatched_.load(std::memory_order_relaxed); }
  std::uint64_t malformed() const { return malformed_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    Attempt attempt;
    bool answered = false;
  };
  static constexpr std::size_t kRecentAnswered = 4096;

  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
  std::deque<std::string> recent_answered_;         // guarded by mu_; of finished runs
  std::atomic<std::uint64_t> duplicates_{0};
  std::atomic<std::uint64_t> unmatched_{0};
  std::atomic<std::uint64_t> malformed_{0};
};

// Writes to the ledger and keeps the first failure: a task whose record could not be written
// must not report success as if nothing was lost. Used by one thread (the task's).
class LedgerWriter {
 public:
  LedgerWriter(Ledger& ledger, Clock& clock) : ledger_(ledger), clock_(clock) {}
  void Task(const TaskRecord& record) { Keep(ledger_.RecordTask(record)); }
  void Subtask(const SubtaskRecord& record) { Keep(ledger_.RecordSubtask(record)); }
  void Step(const std::string& task_id, const std::string& subtask_id, std::string kind,
            std::string detail) {
    Keep(ledger_.RecordStep(
        StepRecord{task_id, subtask_id, std::move(kind), std::move(detail), clock_.Now()}));
  }
  const Status& first_error() const { return first_error_; }

 private:
  void Keep(Status s) {
    if (!s.ok() && first_error_.ok()) first_error_ = std::move(s);
  }
  Ledger& ledger_;
  Clock& clock_;
  Status first_error_;
};

// The ledger's form of a usage roll-up, priced with `prices` (null: only offline calls priced).
LedgerUsage ToLedgerUsage(const Usage& usage, const PriceTable* prices);

struct PlanRunEnv {
  Protocol& protocol;
  WorkerRegistry& registry;
  const OrchestratorOptions& options;
  trace::Tracer& tracer;
  Clock& clock;
  ReplyTable& replies;
  LedgerWriter& ledger;
};

// Runs one validated plan over the protocol: dispatches subtasks whose dependencies are done
// (highest priority first, up to max_parallel at once), times attempts out, retries with
// backoff, cancels what is abandoned, and skips what can no longer run after a failure.
// Scheduling is O(subtasks + dependencies) over the whole run: each subtask waits on a count of
// unmet dependencies and enters a ready queue when it reaches zero. Timeouts and backoff waits
// use the injected clock. Not thread-safe: one thread calls Run, once.
class PlanRun {
 public:
  // `run_id` is the task id, with "#replan" for a second plan (its subtask ids get "replan/").
  // `completed` (by subtask name, may be null): subtasks already finished by an interrupted run
  // of this task; they start done, are neither dispatched nor recorded again, and their outputs
  // feed their dependents.
  PlanRun(PlanRunEnv env, const trace::Context& context, const std::string& run_id,
          const Plan& plan, std::shared_ptr<Execution> execution,
          const std::map<std::string, SubtaskOutcome>* completed = nullptr);
  ~PlanRun();
  PlanRun(const PlanRun&) = delete;
  PlanRun& operator=(const PlanRun&) = delete;

  // Blocks until every subtask has succeeded, failed or been skipped. OK when all succeeded.
  Status Run();
  std::vector<SubtaskOutcome>& outcomes() { return outcomes_; }
  // Whether the execution was cancelled (Orchestrator::Shutdown) during the run.
  bool cancelled() const { return cancelled_; }

 private:
  enum class State { kWaiting, kReady, kRunning, kBackoff, kDone, kFailed, kSkipped };
  struct Slot {
    State state = State::kWaiting;
    std::size_t unmet = 0;  // dependencies not yet done
    std::string message_id;
    std::uint64_t deadline = 0;  // monotonic nanos, while running
    std::uint64_t retry_at = 0;  // monotonic nanos, while in backoff
    std::optional<observability::StartedSpan> span;
  };
  // Highest priority first, then plan order.
  struct ReadyOrder {
    const Plan* plan;
    bool operator()(std::size_t a, std::size_t b) const;
  };
  using RetryEntry = std::pair<std::uint64_t, std::size_t>;  // (retry_at, index)

  bool Stopping() const { return cancelled_ || !first_error_.ok(); }
  void PromoteDueRetries();
  void LaunchReady();
  void Dispatch(std::size_t i);
  void HandleReply(std::size_t i, const Message& reply);
  void AttemptFailed(std::size_t i, Status status, bool retryable);
  void Finish(std::size_t i, State state, Status status);
  void SkipRemaining();
  void WaitForEvents();
  void ReapRunning();
  void CancelAttempt(std::size_t i, const std::string& reason);
  void Record(std::size_t i, const char* state);
  void Step(std::size_t i, std::string kind, std::string detail);
  void StopRunning(std::size_t i);

  PlanRunEnv env_;
  const trace::Context context_;
  const Plan& plan_;
  std::shared_ptr<Execution> execution_;
  std::string task_id_;
  std::string id_prefix_;

  std::vector<Slot> slots_;
  std::vector<SubtaskOutcome> outcomes_;
  std::vector<std::vector<std::size_t>> dependents_;
  std::vector<std::vector<std::size_t>> dependencies_;
  std::priority_queue<std::size_t, std::vector<std::size_t>, ReadyOrder> ready_;
  std::priority_queue<RetryEntry, std::vector<RetryEntry>, std::greater<>> retries_;
  std::vector<std::size_t> running_;  // indices in state kRunning
  std::size_t waiting_ = 0;           // in state kWaiting
  std::vector<std::string>
      message_ids_;  // every attempt sent, forgotten by the ReplyTable at the end
  Status first_error_;
  bool cancelled_ = false;
  bool skipped_ = false;
};

}  // namespace minion::agents::internal
