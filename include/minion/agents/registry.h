#pragma once
// WorkerRegistry: which workers exist, what they offer, and how many subtasks each has been
// given and not yet answered. The orchestrator routes with it; the coordinator fills it.
// Entries may describe local workers (with a Worker object) or remote ones (metadata only), so
// a networked transport needs no change here. Thread-safe.
//
// With breakers enabled (SetBreakerOptions), each worker has a circuit breaker
// "worker:<agent id>": Acquire routes around workers whose breaker refuses the call (open, or
// half-open with its probes out) to another worker of the same capability, and fails fast with
// Unavailable naming every refusing breaker when none is left. The caller reports each
// subtask's outcome through Release(agent_id, outcome). Lock order: the registry's mutex, then
// a breaker's.

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "minion/agents/worker.h"
#include "minion/common/status.h"
#include "minion/resilience/circuit_breaker.h"

#include <deque>
#include <optional>

namespace minion::agents {

enum class RoutingStrategy { kRoundRobin, kLeastInFlight };

// What breakers did during one Acquire / Release, for the caller to put on its span (the
// registry has no span; metrics and logs are written by the registry itself).
struct RoutingEvents {
  struct Change {
    std::string breaker;   // "worker:<agent id>"
    std::string from, to;  // BreakerStateName
    std::string reason;
  };
  std::vector<Change> transitions;
  std::vector<std::string> rejections;  // one line per breaker that refused the call
};

class WorkerRegistry {
 public:
  // AlreadyExists for a duplicate id; InvalidArgument without id or capabilities.
  Status Add(WorkerMetadata metadata, std::shared_ptr<Worker> local = nullptr);
  Status Remove(const std::string& agent_id);

  // Picks a worker offering `capability` (ties on the strategy go to higher priority, then
  // id order) and counts one more subtask in flight for it. NotFound naming the capability.
  // `events` (optional) receives the breaker transitions and rejections this call caused.
  Result<std::string> Acquire(const std::string& capability, RoutingStrategy strategy,
                              RoutingEvents* events = nullptr);
  // The subtask given by Acquire was abandoned without an outcome that says anything about the
  // worker (cancelled because a sibling failed, shutdown).
  void Release(const std::string& agent_id);
  // The subtask given by Acquire ended with `outcome` (a timeout is a failure); recorded by the
  // worker's breaker when breakers are enabled.
  void Release(const std::string& agent_id, const Status& outcome, RoutingEvents* events = nullptr);

  // Gives every worker (present and future) a circuit breaker with `options`; nullopt removes
  // them. `clock` (not owned; null: SystemClock()) must outlive the registry.
  void SetBreakerOptions(std::optional<resilience::CircuitBreakerOptions> options,
                         Clock* clock = nullptr);
  // The worker's breaker, or null (breakers disabled, unknown worker).
  std::shared_ptr<resilience::CircuitBreaker> Breaker(const std::string& agent_id) const;

  std::set<std::string> Capabilities() const;
  std::vector<WorkerMetadata> List() const;  // live status for local workers
  std::shared_ptr<Worker> Find(const std::string& agent_id) const;
  std::size_t size() const;

 private:
  struct Entry {
    WorkerMetadata metadata;
    std::shared_ptr<Worker> local;
    std::size_t in_flight = 0;
    std::shared_ptr<resilience::CircuitBreaker> breaker;
    std::deque<resilience::CircuitBreaker::Permit> permits;  // one per call in flight
  };
  std::shared_ptr<resilience::CircuitBreaker> MakeBreaker(
      const std::string& agent_id);  // needs mu_
  mutable std::mutex mu_;
  std::map<std::string, Entry> workers_;          // guarded by mu_
  std::map<std::string, std::size_t> rr_cursor_;  // guarded by mu_; per capability
  std::optional<resilience::CircuitBreakerOptions> breaker_options_;  // guarded by mu_
  Clock* breaker_clock_ = nullptr;                                    // guarded by mu_
};

}  // namespace minion::agents
