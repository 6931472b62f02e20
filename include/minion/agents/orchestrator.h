#pragma once
// Orchestrator: plans a task (through a Planner) and runs the resulting DAG over a Protocol:
// independent subtasks run in parallel up to a limit, each is routed to a worker offering its
// capability, timed out, retried with exponential backoff and jitter, and (with a planner that
// can) the task is replanned once after a failure. Spans: `orchestrator.plan`,
// `orchestrator.dispatch` (one per subtask, parent of its `protocol.send`s) and
// `orchestrator.replan`, each with multiagent.orchestrator.id and operation. Every task,
// subtask and step goes to the Ledger. Thread-safe: ExecuteTask may run concurrently.
//
// An attempt the orchestrator gives up on — timed out, made useless because another subtask
// failed for good (running siblings are not awaited), or cancelled by Shutdown — is cancelled
// at the worker: a `cancel` step, a `cancel_sent` event on the dispatch span, and a cancel
// message (wire.h, CancelRequest) sent under the dispatch span to WorkerControlId(worker).
// The attempt's late reply, if any, is dropped, and so is a second reply to any attempt (a
// transport may redeliver): only the first reply counts, so no dependent step runs twice.
//
// Time comes from the injected Clock: attempt timeouts and backoff waits, so tests can drive
// them with a SimulatedClock. Each task message carries its attempt's time limit
// (Subtask::timeout), which the worker passes on to what it calls. Ledger
// write failures are not swallowed: a task whose work succeeded but whose record could not be
// written fails with the ledger's error.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "minion/agents/ledger.h"
#include "minion/agents/planner.h"
#include "minion/agents/protocol.h"
#include "minion/agents/registry.h"
#include "minion/agents/usage.h"
#include "minion/common/clock.h"
#include "minion/resilience/retry.h"

namespace minion::agents {
namespace internal {
struct Execution;
class LedgerWriter;
class ReplyTable;
}  // namespace internal

struct RetryPolicy {
  int max_attempts = 3;  // including the first
  std::chrono::milliseconds initial_backoff{100};
  double multiplier = 2.0;
  std::chrono::milliseconds max_backoff{5000};
  double jitter = 0.2;  // the delay is scaled by a factor in [1 - jitter, 1 + jitter]
  // Uniform in [0, 1); null: a thread-local std::mt19937_64. Inject for reproducible delays.
  std::function<double()> random;
  // Shared by every run of the orchestrator: a retry must take a token, each first attempt
  // adds budget.ratio, so a burst of failures cannot multiply the load on the workers. Null:
  // retries are bounded by max_attempts only.
  std::shared_ptr<resilience::RetryBudget> budget;

  // The delay before attempt `next_attempt` (2 for the first retry): retry::Backoff with the
  // factor in [1 - jitter, 1 + jitter], i.e. retry number next_attempt - 1.
  std::chrono::nanoseconds Backoff(int next_attempt) const;
};

struct OrchestratorOptions {
  std::string id = "orchestrator";                   // its agent id on the protocol
  std::size_t max_parallel = 4;                      // subtasks of one task in flight at once
  std::chrono::milliseconds subtask_timeout{60000};  // per attempt
  RetryPolicy retry;
  RoutingStrategy routing = RoutingStrategy::kLeastInFlight;
  bool replan_on_failure = true;          // once, when the planner supports it
  std::shared_ptr<trace::Tracer> tracer;  // null: observability::GetTracer() at each span
  std::shared_ptr<Ledger> ledger;         // null: an InMemoryLedger
  // Prices the usage the ledger records (LedgerUsage::cost_usd); null: only the offline
  // model's cost (0) is known.
  std::shared_ptr<const PriceTable> prices;
  // Timestamps, attempt deadlines, timeouts and backoff waits; null: SystemClock().
  Clock* clock = nullptr;
  std::size_t reply_mailbox_capacity = 65536;
  // Replies handled at once (handling only queues them for the task's thread).
  std::size_t reply_concurrency = 8;
};

// Replies the orchestrator dropped, since it started.
struct OrchestratorStats {
  std::uint64_t duplicate_replies = 0;  // a second reply to an attempt already answered
  std::uint64_t unmatched_replies = 0;  // to an attempt given up (timed out, cancelled) or unknown
  std::uint64_t malformed_replies = 0;  // content that did not decode (counted as a failed attempt)
};

struct SubtaskOutcome {
  std::string subtask_id;
  std::string name;
  std::string capability;
  std::string worker_id;  // the worker of the last attempt
  Status status;          // OK, or why it failed / was skipped
  nlohmann::json output;
  int attempts = 0;
  UnixNanos started_at = 0;
  UnixNanos finished_at = 0;
  // LLM usage of every attempt whose reply was accepted (failed attempts included; a late reply
  // to an abandoned attempt is dropped with its usage, which its worker span still shows).
  Usage usage;
  Cost cost;  // usage priced by the coordinator (CoordinatorOptions::prices)
  // Finished in an earlier, interrupted run of the task and carried over by a resume (not run
  // again; its fields are the ones the ledger recorded then).
  bool reused = false;
};

// What a resumed task carries over from its interrupted run (`minion resume`, resume.h).
struct ResumeState {
  // Subtasks of the plan that finished before the interruption, by subtask name: they are not
  // dispatched again, their outputs feed their dependents exactly as a fresh result would, and
  // their ledger rows are left as they are.
  std::map<std::string, SubtaskOutcome> completed;
  UnixNanos started_at = 0;  // the task's first start, kept in its ledger row (0: now)
  std::string planner;       // the planner that made the stored plan, kept in the ledger row
  std::string detail;        // for the `resume` step of the progress log
  Usage planner_usage;  // what the interrupted run's planner spent (counted again in the total)
};

struct ExecutionResult {
  Status status;
  std::string planner;
  bool replanned = false;
  std::vector<SubtaskOutcome> subtasks;  // of the last plan, in plan order
  // The sum over every subtask of every plan run (a replan's first plan included) and of the
  // planner's own LLM calls (planner_usage).
  Usage usage;
  Usage planner_usage;  // the planner's calls (plan and replan); for a resume, the first run's
};

class Orchestrator {
 public:
  // `protocol` and `registry` must outlive the orchestrator.
  Orchestrator(Protocol& protocol, WorkerRegistry& registry, OrchestratorOptions options = {});
  ~Orchestrator();
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  // Subscribes options.id for result/error messages.
  Status Start();
  // New executions fail with Unavailable; running ones are cancelled after `grace` with a
  // Cancelled error naming the shutdown. Unsubscribes.
  Status Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // Plans and runs `request` under `context` (the task span). Blocks until done.
  // With `resume`, the task continues an interrupted run recorded under the same task id: the
  // planner's plan must be the stored one, and resume->completed are not run again.
  ExecutionResult ExecuteTask(const trace::Context& context, const std::string& task_id,
                              const TaskRequest& request, Planner& planner,
                              const ResumeState* resume = nullptr);

  const std::string& id() const { return options_.id; }
  Ledger& ledger() { return *ledger_; }
  std::size_t running() const;
  OrchestratorStats stats() const;

 private:
  Status RunPlan(const trace::Context& context, const std::string& run_id, const Plan& plan,
                 const std::shared_ptr<internal::Execution>& execution,
                 internal::LedgerWriter& ledger, std::vector<SubtaskOutcome>* outcomes,
                 bool* cancelled, const std::map<std::string, SubtaskOutcome>* completed = nullptr);

  Protocol& protocol_;
  WorkerRegistry& registry_;
  OrchestratorOptions options_;
  std::shared_ptr<trace::Tracer> tracer_;
  std::shared_ptr<Ledger> ledger_;
  Clock* clock_;
  std::unique_ptr<internal::ReplyTable> replies_;

  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  std::set<std::shared_ptr<internal::Execution>> executions_;  // guarded by mu_
  bool started_ = false;                                       // guarded by mu_
  bool stopping_ = false;                                      // guarded by mu_
};

}  // namespace minion::agents
